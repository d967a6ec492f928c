// Either family, canonical text (and its cache), and address/len prefixes.
import t from 'tap';
import { BoundedCache } from '../src/canonical.js';
import {
  canonicalIp,
  familyOf,
  formatIp,
  formatIpBytes,
  parseIp,
  parseIpBytes,
  parsePrefix,
  parsePrefixLength,
} from '../src/index.js';

t.test('family by shape, values as bigints', async (t) => {
  t.equal(familyOf('10.0.0.1'), 4);
  t.equal(familyOf('::'), 6);
  t.equal(familyOf('nonsense'), 4, 'shape only: the parsers judge validity');
  t.equal(parseIp('10.0.0.1'), 0x0a000001n);
  t.equal(parseIp('fd01:b::2'), 0xfd01000b000000000000000000000002n);
  t.equal(parseIp('10.0.0.1', 6), undefined, 'not an IPv6 address');
  t.equal(parseIp('::1', 4), undefined, 'not an IPv4 address');
  t.equal(parseIp('::1', 6), 1n);
  t.equal(parseIp('1.2.3'), undefined);
  t.equal(formatIp(4, 0x0a000001n), '10.0.0.1');
  t.equal(formatIp(6, 0xffff0a000001n), '::ffff:10.0.0.1');
  t.throws(() => formatIp(4, 1n << 32n), RangeError);
  t.throws(() => formatIp(4, -1n), RangeError);
  t.throws(() => formatIp(6, 1n << 128n), RangeError);
});

t.test('bytes of either family', async (t) => {
  t.same(parseIpBytes('10.1.2.3'), Uint8Array.from([10, 1, 2, 3]));
  t.same(
    parseIpBytes('::ffff:10.1.2.3'),
    Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 1, 2, 3]),
  );
  t.same(parseIpBytes('10.1.2.3/8', 8), Uint8Array.from([10, 1, 2, 3]), 'a text prefix');
  t.same(parseIpBytes('::1/128', 3)?.length, 16);
  t.equal(parseIpBytes('10.1.2.3/8'), undefined);
  t.equal(parseIpBytes('10.1.2'), undefined);
  t.equal(parseIpBytes(':'), undefined);
  const buf = Uint8Array.from([9, 192, 0, 2, 1, 9]);
  t.equal(formatIpBytes(buf, 1, 4), '192.0.2.1');
  t.equal(formatIpBytes(Uint8Array.from([192, 0, 2, 1])), '192.0.2.1');
  t.equal(formatIpBytes(new Uint8Array(16)), '::');
  t.throws(() => formatIpBytes(new Uint8Array(6)), RangeError);
});

t.test('canonical text', async (t) => {
  t.equal(canonicalIp('10.0.0.1'), '10.0.0.1');
  t.equal(canonicalIp('10.0.0.01'), undefined);
  t.equal(canonicalIp('FD01:000B:0:0:0:0:0:2'), 'fd01:b::2');
  t.equal(canonicalIp('0:0:0:0:0:ffff:c000:0280'), '::ffff:192.0.2.128');
  t.equal(canonicalIp('::ffff:c000:280'), '::ffff:192.0.2.128');
  t.equal(canonicalIp('1:0:0:1:0:0:0:1'), '1:0:0:1::1', 'longest zero run compressed');
  t.equal(canonicalIp('fe80::1%eth0'), undefined, 'no zones');
  for (let i = 0; i < 3; i++) {
    t.equal(canonicalIp('2001:DB8::1'), '2001:db8::1', 'cached');
    t.equal(canonicalIp('2001:DB8::1::'), undefined, 'cached too');
  }
});

t.test('the cache is bounded and keeps what is in use', async (t) => {
  let computed = 0;
  const cache = new BoundedCache<string>(100);
  const upper = (k: string) => {
    computed++;
    return k.toUpperCase();
  };
  for (let i = 0; i < 1000; i++) {
    t.equal(cache.get(`k${i}`, upper), `K${i}`);
    cache.get('hot', upper);
    if (cache.size > 200) t.fail(`size ${cache.size}`);
  }
  t.equal(computed, 1001, 'the hot key was computed once');
  t.ok(cache.size <= 200);
  const undef = new BoundedCache<string | undefined>(10);
  let misses = 0;
  for (let i = 0; i < 3; i++) {
    undef.get('x', () => {
      misses++;
      return undefined;
    });
  }
  t.equal(misses, 1, 'undefined results are cached');
});

t.test('address/len', async (t) => {
  t.same(parsePrefix('10.1.0.0/16'), {
    family: 4,
    value: 0x0a010000n,
    prefix: 16,
    ip: '10.1.0.0',
    text: '10.1.0.0/16',
  });
  t.same(parsePrefix('10.1.0.1'), {
    family: 4,
    value: 0x0a010001n,
    prefix: 32,
    ip: '10.1.0.1',
    text: '10.1.0.1/32',
  });
  t.same(parsePrefix('FD01:B:0::1/64'), {
    family: 6,
    value: 0xfd01000b000000000000000000000001n,
    prefix: 64,
    ip: 'fd01:b::1',
    text: 'fd01:b::1/64',
  });
  t.match(parsePrefix('::/0'), { family: 6, prefix: 0, text: '::/0' });
  t.match(parsePrefix('::ffff:1.2.3.4/128'), { family: 6, text: '::ffff:1.2.3.4/128' });
  t.match(parsePrefix('0.0.0.0/0'), { family: 4, prefix: 0 });
  for (const bad of [
    '',
    '/',
    '/8',
    '10.1.0.0/',
    '10.1.0.0/33',
    '10.1.0.0/08',
    '10.1.0.0/00',
    '10.1.0.0/-1',
    '10.1.0.0/+8',
    '10.1.0.0/8/8',
    '10.1.0.0/ 8',
    '10.1.0.0 /8',
    '10.1.0/8',
    'fd00::/129',
    'fd00::/1000',
    'fd00::%eth0/64',
    'default',
  ]) {
    t.equal(parsePrefix(bad), undefined, JSON.stringify(bad));
  }
  t.equal(parsePrefixLength('x/24', 2, 32), 24);
  t.equal(parsePrefixLength('x/0', 2, 32), 0);
  t.equal(parsePrefixLength('x/128', 2, 128), 128);
  t.equal(parsePrefixLength('x/128', 2, 32), -1);
  t.equal(parsePrefixLength('x/', 2, 32), -1);
  t.equal(parsePrefixLength('x/024', 2, 32), -1);
});
