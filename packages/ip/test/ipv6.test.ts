// IPv6: RFC 4291 text -> bigint and bytes; bigint and bytes -> glibc inet_ntop's text.
import t from 'tap';
import {
  formatIpv6,
  formatIpv6Bytes,
  isLinkLocal6,
  parseIpv6,
  parseIpv6Into,
} from '../src/index.js';
import { checkFormat6, checkSpellings6 } from './helpers/checks.js';
import { fromWords, randomIpv6, spellIpv6 } from './helpers/generate.js';
import { seeded } from './helpers/random.js';
import { refFormatIpv6, refParseIpv6 } from './helpers/reference.js';

const hex = (s: string) => BigInt(`0x${s}`);

t.test('valid texts', async (t) => {
  const table: [string, bigint][] = [
    ['::', 0n],
    ['::1', 1n],
    ['1::', 1n << 112n],
    ['fd00::1', hex('fd000000000000000000000000000001')],
    ['2001:db8::ff00:42:8329', hex('20010db8000000000000ff0000428329')],
    ['2001:DB8:0:0:8:800:200C:417A', hex('20010db80000000000080800200c417a')],
    ['0001:0002::000f', hex('0001000200000000000000000000000f')],
    ['::ffff:192.0.2.128', hex('ffffc0000280')],
    ['::192.0.2.128', hex('c0000280')],
    ['1:2:3:4:5:6:1.2.3.4', hex('00010002000300040005000601020304')],
    ['1::5:6:1.2.3.4', hex('00010000000000000005000601020304')],
    ['1:2:3:4:5:6:7::', hex('00010002000300040005000600070000')],
    ['::2:3:4:5:6:7:8', hex('00000002000300040005000600070008')],
    ['1:2:3::5:6:7:8', hex('00010002000300000005000600070008')],
    ['ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255', (1n << 128n) - 1n],
    ['0000:0000:0000:0000:0000:0000:0000:0000', 0n],
  ];
  for (const [text, value] of table) {
    t.equal(parseIpv6(text), value, text);
    t.equal(refParseIpv6(text), value, `the reference agrees on ${text}`);
  }
});

t.test('everything else is refused', async (t) => {
  for (const bad of [
    '',
    ':',
    ':::',
    '::::',
    ':1::',
    '1::2:',
    '1::2::3',
    '::ffff::1',
    '12345::',
    '00000::1',
    'g::1',
    '::-1',
    '::+1',
    '::0x1',
    ' ::1',
    '::1 ',
    '::1\n',
    '[::1]',
    'fe80::1%eth0',
    '::1/128',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '1::2:3:4:5:6:7:8',
    '1.2.3.4',
    '1.2.3.4::',
    '::1.2.3',
    '::01.2.3.4',
    '::1.2.3.04',
    '::256.1.1.1',
    '::1.2.3.4.5',
    '::1.2.3.4:5',
    '::1.2.3.4::',
    '::ffff:a.b.c.d',
    '1:2:3:4:5:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    '1:2:3:4:5:6::1.2.3.4',
    `${'0'.repeat(42)}::1`,
    '::١',
  ]) {
    t.equal(parseIpv6(bad), undefined, JSON.stringify(bad));
    t.equal(refParseIpv6(bad), undefined, `the reference refuses ${JSON.stringify(bad)} too`);
  }
});

t.test("canonical text is glibc inet_ntop's", async (t) => {
  const table: [number[], string][] = [
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0, 0, 0, 0, 0, 0, 0, 0xffff], '::ffff'],
    [[0, 0, 0, 0, 0, 0, 1, 0], '::0.1.0.0'],
    [[0, 0, 0, 0, 0, 0, 0xc000, 0x280], '::192.0.2.128'],
    [[0, 0, 0, 0, 0, 0xffff, 0, 0], '::ffff:0.0.0.0'],
    [[0, 0, 0, 0, 0, 0xffff, 0xc000, 0x280], '::ffff:192.0.2.128'],
    [[0, 0, 0, 0, 0, 0xfffe, 0xc000, 0x280], '::fffe:c000:280'],
    [[0, 0, 0, 0, 0xffff, 0, 1, 2], '::ffff:0:1:2'],
    [[0, 0, 0, 0, 0, 1, 0, 0], '::1:0:0'],
    [[1, 0, 0, 0, 0, 0xffff, 0x102, 0x304], '1::ffff:102:304'],
    [[0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x221], '64:ff9b::c000:221'],
    [[1, 0, 0, 1, 0, 0, 0, 1], '1:0:0:1::1'],
    [[1, 0, 0, 0, 1, 0, 0, 1], '1::1:0:0:1'],
    [[0, 0, 1, 0, 0, 0, 0, 0], '0:0:1::'],
    [[0xfe80, 0, 0, 0, 1, 0, 0, 0], 'fe80::1:0:0:0'],
    [[1, 0, 1, 0, 1, 0, 1, 0], '1:0:1:0:1:0:1:0'],
    [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], '2001:db8:0:1:1:1:1:1'],
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], '2001:db8::1:0:0:1'],
    [[1, 0, 0, 0, 0, 0, 0, 0], '1::'],
    [[0xfd01, 0xb, 0, 0, 0, 0, 0, 2], 'fd01:b::2'],
    [Array(8).fill(0xffff), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    [[0xabcd, 0xef, 0xa, 0xbc, 0, 0xd, 0xe, 0xf], 'abcd:ef:a:bc:0:d:e:f'],
  ];
  for (const [words, text] of table) {
    const v = fromWords(words);
    t.equal(formatIpv6(v), text, text);
    t.equal(refFormatIpv6(v), text, `the reference agrees on ${text}`);
    t.equal(parseIpv6(text), v, `${text} parses back`);
  }
});

t.test('bytes at an offset, and a text prefix', async (t) => {
  const buf = new Uint8Array(20).fill(7);
  t.ok(parseIpv6Into('2001:db8::1', buf, 2));
  t.same([...buf], [7, 7, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 7, 7]);
  t.equal(formatIpv6Bytes(buf, 2), '2001:db8::1');
  const before = [...buf];
  t.notOk(parseIpv6Into('2001:db8::1::', buf, 0));
  t.same([...buf], before, 'writes nothing when it fails');
  t.ok(parseIpv6Into('fd00::5/64', buf, 0, 7), 'the address before the slash');
  t.equal(formatIpv6Bytes(buf), 'fd00::5');
  t.equal(parseIpv6('fd00::5/64', 7), hex('fd000000000000000000000000000005'));
  t.equal(parseIpv6('fd00::5/64', 6), hex('fd000000000000000000000000000000'), '"fd00::"');
  t.equal(parseIpv6('fd00::5/64'), undefined, 'not the whole text');
});

t.test('formatIpv6 takes only 128-bit values', async (t) => {
  t.throws(() => formatIpv6(-1n), RangeError);
  t.throws(() => formatIpv6(1n << 128n), RangeError);
  t.equal(formatIpv6((1n << 128n) - 1n), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
});

t.test('random values: text equals the reference and parses back (seeded)', async (t) => {
  const r = seeded(t);
  t.same(checkFormat6(r, 20_000, formatIpv6, parseIpv6), [], 'bigint');
  const viaBytes = (v: bigint) => {
    const buf = new Uint8Array(19);
    for (let i = 0; i < 16; i++) buf[3 + i] = Number((v >> BigInt(8 * (15 - i))) & 0xffn);
    return formatIpv6Bytes(buf, 3);
  };
  const parseViaBytes = (text: string) => {
    const buf = new Uint8Array(17);
    if (!parseIpv6Into(text, buf, 1)) return undefined;
    let v = 0n;
    for (let i = 1; i < 17; i++) v = (v << 8n) | BigInt(buf[i] as number);
    return v;
  };
  t.same(checkFormat6(r, 20_000, viaBytes, parseViaBytes), [], 'bytes');
});

t.test('random spellings of random values parse to the value (seeded)', async (t) => {
  const r = seeded(t);
  t.same(checkSpellings6(r, 20_000, parseIpv6), []);
  const ref: string[] = [];
  for (let i = 0; i < 2000 && ref.length < 3; i++) {
    const v = randomIpv6(r);
    const text = spellIpv6(r, v);
    if (refParseIpv6(text) !== v) ref.push(text);
  }
  t.same(ref, [], `the spellings are valid for the reference too (seed ${r.seed})`);
});

t.test('the reference formatter agrees with WHATWG URL serialization (seeded)', async (t) => {
  // URL hosts print RFC 5952 without dotted tails: compare where glibc prints none either.
  const r = seeded(t);
  const bad: string[] = [];
  for (let i = 0; i < 5000 && bad.length < 3; i++) {
    const v = randomIpv6(r);
    const ours = refFormatIpv6(v);
    if (ours.includes('.')) continue;
    const url = new URL(`http://[${ours}]/`).hostname.slice(1, -1);
    if (url !== ours) bad.push(`${ours} vs ${url}`);
  }
  t.same(bad, [], `seed ${r.seed}`);
});

t.test('link-local fe80::/10', async (t) => {
  for (const [text, want] of [
    ['fe80::1', true],
    ['FE80::1', true],
    ['fe80:1::', true],
    ['febf:ffff::', true],
    ['fea0::1', true],
    ['fec0::1', false],
    ['fe7f::1', false],
    ['fe8::1', false],
    ['0fe8::1', false],
    ['::1', false],
    ['::ffff:254.128.0.1', false],
    ['ff02::1', false],
    ['fe80', false],
    ['', false],
  ] as const) {
    t.equal(isLinkLocal6(text), want, text);
  }
  const r = seeded(t);
  const bad: string[] = [];
  for (let i = 0; i < 5000 && bad.length < 3; i++) {
    const first = r.pick([0xfe7f, 0xfe80, 0xfe9a, 0xfebf, 0xfec0, 0x0fe8, r.int(0x10000)]);
    const v = (BigInt(first) << 112n) | (randomIpv6(r) >> 16n);
    const want = v >> 118n === 0x3fan;
    for (const text of [formatIpv6(v), spellIpv6(r, v)]) {
      if (isLinkLocal6(text) !== want) bad.push(text);
    }
  }
  t.same(bad, [], `seed ${r.seed}`);
});
