// The data plane's hand-written IPv6 text against ip-address (seeded; VNET_SEED=<n> re-runs).
import { Address6 } from 'ip-address';
import t from 'tap';
import {
  canonIp,
  canonPrefix,
  formatIpv6,
  isLinkLocal6,
  isSpecialMac,
  parseIpv6,
  parseNetwork,
} from '../../src/dataplane/text.js';
import { testSeed } from '../helpers/configs.js';

/** xorshift32: a small seeded generator. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** 8 groups, many zero (so runs of zeros of every length and position occur). */
function randomValue(next: () => number): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i++) {
    const r = next();
    const g = r % 3 === 0 ? r >>> 16 : r % 7 === 0 ? 1 : 0;
    v = (v << 16n) | BigInt(g & 0xffff);
  }
  return v;
}

t.test('formatIpv6 and parseIpv6 agree with ip-address', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed}`);
  const next = rng(seed);
  let bad = 0;
  for (let i = 0; i < 20_000; i++) {
    const v = randomValue(next);
    const want = Address6.fromBigInt(v).correctForm();
    const text = formatIpv6(v);
    if (text !== want || parseIpv6(text) !== v) {
      if (bad++ < 5) t.fail(`seed ${seed}: ${v.toString(16)}: ${text} vs ${want}`);
    }
    // Other spellings of the same address: full, upper case, leading zeros.
    const full = new Address6(want).canonicalForm();
    for (const form of [full, full.toUpperCase(), want.toUpperCase()]) {
      if (parseIpv6(form) !== v && bad++ < 5) t.fail(`seed ${seed}: ${form} did not parse`);
    }
  }
  t.equal(bad, 0, '20,000 seeded addresses');
});

t.test('IPv6 text: embedded IPv4, bad forms', async (t) => {
  t.equal(parseIpv6('::ffff:1.2.3.4'), new Address6('::ffff:1.2.3.4').bigInt());
  t.equal(parseIpv6('::1.2.3.4'), 0x01020304n);
  t.equal(parseIpv6('1:2:3:4:5:6:1.2.3.4'), new Address6('1:2:3:4:5:6:1.2.3.4').bigInt());
  t.equal(parseIpv6('1:2:3:4:5:6:7::'), new Address6('1:2:3:4:5:6:7::').bigInt());
  for (const bad of [
    '',
    ':',
    ':::',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8::',
    ':1::',
    '1::2:',
    '12345::',
    'g::',
    '1.2.3.4',
    '::1.2.3',
    '1:2:3:4:5:6:7:1.2.3.4',
    'fe80::1%eth0',
    '[::1]',
    ' ::1',
  ]) {
    t.equal(parseIpv6(bad), undefined, JSON.stringify(bad));
    t.notOk(
      Address6.isValid(bad) && !bad.includes('%') && !bad.includes('['),
      `ip-address agrees: ${bad}`,
    );
  }
});

t.test('canonical forms, networks, special MACs, link-local', async (t) => {
  t.equal(canonIp('FD01:000A:0000:0000:0000:0000:0000:0002'), 'fd01:a::2');
  t.equal(canonIp('44.128.0.1'), '44.128.0.1');
  t.equal(canonIp('044.128.0.1'), undefined);
  t.equal(canonPrefix('fd01:b:0:0:1:0:0:0/80'), 'fd01:b:0:0:1::/80');
  t.same(parseNetwork('fd01:b::/64', 6), {
    family: 6,
    network: 0xfd01000b000000000000000000000000n,
    prefix: 64,
  });
  t.equal(parseNetwork('9.0.1.1/24', 4), undefined, 'host bits');
  t.equal(parseNetwork('9.0.1.0/33', 4), undefined);
  t.equal(parseNetwork('9.0.1.0', 4), undefined);
  t.ok(isSpecialMac('00:00:00:00:00:00') && isSpecialMac('33:33:00:00:00:01'));
  t.notOk(isSpecialMac('70:b3:d5:80:00:01'));
  t.ok(isLinkLocal6('fe80::1') && isLinkLocal6('febf::1'));
  t.notOk(isLinkLocal6('fec0::1') || isLinkLocal6('fe8::1') || isLinkLocal6('fd01:a::1'));
});
