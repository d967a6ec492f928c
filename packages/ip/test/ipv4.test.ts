// IPv4: the strict dotted quad (as inet_pton) <-> uint32 and bytes.
import t from 'tap';
import { formatIpv4, formatIpv4Bytes, parseIpv4, parseIpv4Into } from '../src/index.js';
import { mutate, randomIpv4 } from './helpers/generate.js';
import { seeded } from './helpers/random.js';
import { refFormatIpv4, refParseIpv4 } from './helpers/reference.js';

t.test('valid dotted quads', async (t) => {
  const table: [string, number][] = [
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
    ['10.0.0.1', 0x0a000001],
    ['44.128.0.7', 0x2c800007],
    ['192.168.100.200', 0xc0a864c8],
    ['1.2.3.4', 0x01020304],
    ['100.20.3.0', 0x64140300],
    ['249.250.199.99', 0xf9fac763],
  ];
  for (const [text, value] of table) {
    t.equal(parseIpv4(text), value, text);
    t.equal(formatIpv4(value), text, `format ${text}`);
  }
});

t.test('everything else is refused', async (t) => {
  for (const bad of [
    '',
    '1',
    '1.2',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.',
    '.1.2.3',
    '1..2.3',
    '01.2.3.4',
    '1.2.3.00',
    '1.2.3.010',
    '256.0.0.0',
    '1.2.3.256',
    '1.2.3.1000',
    '0x1.2.3.4',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1.2.3.4\n',
    '1.2.3.-4',
    '+1.2.3.4',
    '1.2.3.4/32',
    '1.2.3.4:80',
    '::1.2.3.4',
    '1.2.3.٤',
    '1.2.3.a',
  ]) {
    t.equal(parseIpv4(bad), undefined, JSON.stringify(bad));
    t.equal(refParseIpv4(bad), undefined, `the reference refuses ${JSON.stringify(bad)} too`);
  }
});

t.test('bytes at an offset, and a text prefix', async (t) => {
  const buf = new Uint8Array(10).fill(7);
  t.ok(parseIpv4Into('192.0.2.33', buf, 3));
  t.same([...buf], [7, 7, 7, 192, 0, 2, 33, 7, 7, 7]);
  t.equal(formatIpv4Bytes(buf, 3), '192.0.2.33');
  t.notOk(parseIpv4Into('192.0.2.333', buf, 0), 'a bad address');
  t.same([...buf], [7, 7, 7, 192, 0, 2, 33, 7, 7, 7], 'writes nothing when it fails');
  t.ok(parseIpv4Into('10.1.2.3/24', buf, 0, 8), 'the address before the slash');
  t.equal(formatIpv4Bytes(buf), '10.1.2.3');
  t.notOk(parseIpv4Into('10.1.2.3/24', buf, 0), 'not the whole text');
  t.equal(parseIpv4('10.1.2.3/24', 8), 0x0a010203);
  t.equal(parseIpv4('10.1.2.3/24', 7), undefined, '"10.1.2." is not an address');
});

t.test('formatIpv4 takes only uint32s', async (t) => {
  for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
    t.throws(() => formatIpv4(bad), RangeError, String(bad));
  }
});

t.test(
  'random addresses and mangled text agree with net.isIP and ip-address (seeded)',
  async (t) => {
    const r = seeded(t);
    const bad: string[] = [];
    for (let i = 0; i < 20_000 && bad.length < 5; i++) {
      const v = randomIpv4(r);
      const text = formatIpv4(v);
      if (text !== refFormatIpv4(v) || parseIpv4(text) !== v) bad.push(`${v}: ${text}`);
      const buf = new Uint8Array(6);
      if (!parseIpv4Into(text, buf, 2) || formatIpv4Bytes(buf, 2) !== text)
        bad.push(`bytes ${text}`);
      const mangled = mutate(r, text);
      if (parseIpv4(mangled) !== refParseIpv4(mangled)) {
        bad.push(`parse ${JSON.stringify(mangled)}: ${parseIpv4(mangled)}`);
      }
    }
    t.same(bad, [], `seed ${r.seed}`);
  },
);
