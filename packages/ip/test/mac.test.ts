// MACs and link-layer addresses.
import t from 'tap';
import {
  canonicalMac,
  formatMac,
  isGroupOrZeroMac,
  parseLinkAddress,
  parseMacInto,
} from '../src/index.js';
import { spellLinkAddress } from './helpers/generate.js';
import { seeded } from './helpers/random.js';
import { refCanonicalMac, refParseLinkAddress } from './helpers/reference.js';

t.test('six-byte MACs', async (t) => {
  const buf = new Uint8Array(8).fill(9);
  t.ok(parseMacInto('70:B3:d5:80:00:02', buf, 1));
  t.same([...buf], [9, 0x70, 0xb3, 0xd5, 0x80, 0, 2, 9]);
  t.equal(formatMac(buf, 1, 6), '70:b3:d5:80:00:02');
  t.equal(canonicalMac('70:B3:D5:80:00:02'), '70:b3:d5:80:00:02');
  const lower = '70:b3:d5:80:00:02';
  t.equal(canonicalMac(lower), lower);
  for (const bad of [
    '',
    '70:b3:d5:80:00',
    '70:b3:d5:80:00:02:',
    '70:b3:d5:80:00:2',
    '70:b3:d5:80:0:02',
    '70-b3-d5-80-00-02',
    '70:b3:d5:80:00:0g',
    '70b3.d580.0002',
    ' 70:b3:d5:80:00:02',
    '70:b3:d5:80:00:02:03',
  ]) {
    t.notOk(parseMacInto(bad, buf, 1), JSON.stringify(bad));
    t.equal(canonicalMac(bad), undefined, JSON.stringify(bad));
  }
  t.same([...buf], [9, 0x70, 0xb3, 0xd5, 0x80, 0, 2, 9], 'failures write nothing');
});

t.test('group and zero MACs', async (t) => {
  for (const [mac, want] of [
    ['00:00:00:00:00:00', true],
    ['ff:ff:ff:ff:ff:ff', true],
    ['FF:FF:FF:FF:FF:FF', true],
    ['01:00:5e:00:00:01', true],
    ['33:33:00:00:00:01', true],
    ['03:00:00:00:00:00', true],
    ['70:b3:d5:80:00:02', false],
    ['00:00:00:00:00:01', false],
    ['02:00:00:00:00:00', false],
    ['0e:00:00:00:00:00', false],
    ['0F:00:00:00:00:00', true],
    ['00:00:00:00:00', false],
    ['not a mac', false],
  ] as const) {
    t.equal(isGroupOrZeroMac(mac), want, mac);
  }
});

t.test('link-layer addresses of 2-32 bytes', async (t) => {
  t.same(parseLinkAddress('70:B3:d5:80:0:2'), Uint8Array.from([0x70, 0xb3, 0xd5, 0x80, 0, 2]));
  t.same(parseLinkAddress('0:1'), Uint8Array.from([0, 1]));
  const twenty = '00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33';
  t.equal(parseLinkAddress(twenty)?.length, 20);
  t.equal(formatMac(parseLinkAddress(twenty) as Uint8Array), twenty);
  t.equal(parseLinkAddress(Array(32).fill('ab').join(':'))?.length, 32);
  const a = parseLinkAddress('1:2');
  const b = parseLinkAddress('3:4');
  t.same([a, b], [Uint8Array.from([1, 2]), Uint8Array.from([3, 4])], 'each result is its own');
  for (const bad of [
    '',
    '70',
    '70:',
    '70:b3:',
    ':70:b3',
    '70::b3',
    '700:b3',
    '70:b3:d5:80:00:0g',
    'a::b',
    Array(33).fill('ab').join(':'),
  ]) {
    t.equal(parseLinkAddress(bad), undefined, JSON.stringify(bad));
  }
});

t.test('random link-layer addresses agree with the reference (seeded)', async (t) => {
  const r = seeded(t);
  const bad: string[] = [];
  for (let i = 0; i < 10_000 && bad.length < 5; i++) {
    const text = spellLinkAddress(r);
    const want = refParseLinkAddress(text);
    const got = parseLinkAddress(text);
    if (String(want) !== String(got && [...got])) bad.push(`${text}: ${got}`);
    if (got && formatMac(got) !== text.toLowerCase() && !text.match(/(^|:)[0-9a-f](:|$)/i)) {
      bad.push(`format ${text}: ${formatMac(got)}`);
    }
    if (canonicalMac(text) !== refCanonicalMac(text)) bad.push(`canonicalMac ${text}`);
  }
  t.same(bad, [], `seed ${r.seed}`);
});
