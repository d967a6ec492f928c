import t from 'tap';
import { contains, formatCidr, overlaps, parseAddress, parseCidr } from '../../src/net/cidr.js';

const ok = (text: string, family: 4 | 6) => {
  const r = parseCidr(text, family);
  if (!r.ok) throw new Error(r.reason);
  return r.cidr;
};

t.test('strict IPv4 networks', async (t) => {
  t.equal(formatCidr(ok('9.0.0.0/8', 4)), '9.0.0.0/8');
  t.equal(formatCidr(ok('0.0.0.0/0', 4)), '0.0.0.0/0');
  const bad = parseCidr('192.168.1.5/17', 4);
  t.equal(bad.ok, false);
  if (!bad.ok) {
    t.match(bad.reason, /host bits set; the network is 192\.168\.0\.0\/17/);
    t.equal(formatCidr(bad.corrected!), '192.168.0.0/17');
  }
  for (const text of [
    '9.0.0/8',
    '9.0.0.0',
    '9.0.0.0/33',
    '9.0.0.0/08',
    '09.0.0.0/8',
    '9.0.0.0/x',
    'fd01::/64',
    '',
  ]) {
    t.equal(parseCidr(text, 4).ok, false, `${JSON.stringify(text)} is refused`);
  }
});

t.test('strict IPv6 networks, RFC 5952 output', async (t) => {
  t.equal(formatCidr(ok('fd01:b::/64', 6)), 'fd01:b::/64');
  t.equal(formatCidr(ok('FD01:000B:0000:0000:0000:0000:0000:0000/64', 6)), 'fd01:b::/64');
  const bad = parseCidr('fd01:b::1/64', 6);
  t.equal(bad.ok, false);
  if (!bad.ok) t.match(bad.reason, /the network is fd01:b::\/64/);
  t.equal(parseCidr('10.0.0.0/8', 6).ok, false);
  t.equal(parseCidr('fd01::/129', 6).ok, false);
  t.equal(parseCidr('fe80::%eth0/64', 6).ok, false);
});

t.test('overlap and containment', async (t) => {
  t.ok(overlaps(ok('192.168.0.0/16', 4), ok('192.168.128.0/17', 4)));
  t.notOk(overlaps(ok('192.168.0.0/17', 4), ok('192.168.128.0/17', 4)));
  t.notOk(overlaps(ok('10.0.0.0/8', 4), ok('fd01::/64', 6)), 'families never overlap');
  t.ok(contains(ok('9.0.0.0/8', 4), ok('9.1.2.0/24', 4)));
  t.notOk(contains(ok('9.1.2.0/24', 4), ok('9.0.0.0/8', 4)));
});

t.test('plain addresses', async (t) => {
  t.equal(parseAddress('10.0.0.1', 4), 0x0a000001n);
  t.equal(parseAddress('10.0.0.1/32', 4), undefined);
  t.equal(parseAddress('10.0.0.256', 4), undefined);
  t.equal(parseAddress('::1', 6), 1n);
});
