// The checkers of helpers/checks.ts catch planted bugs: each is handed an implementation with one
// deliberate mistake and must report it. Without this a checker that can never fail would pass.
import { Address6 } from 'ip-address';
import t from 'tap';
import * as ip from '../src/index.js';
import { checkFormat6, checkParsers, checkSpellings6, type Parsers } from './helpers/checks.js';
import { seeded } from './helpers/random.js';

const N = 20_000;

t.test('the format checker', async (t) => {
  const r = seeded(t);
  const planted: Record<string, (v: bigint) => string> = {
    'no dotted tail (ip-address correctForm)': (v) => Address6.fromBigInt(v).correctForm(),
    'upper case': (v) => ip.formatIpv6(v).toUpperCase(),
    'the last longest zero run on a tie': (v) => {
      const text = ip.formatIpv6(v);
      const m = /^(.*?)::(.*)$/.exec(text);
      if (!m || text.includes('.')) return text;
      // Re-expand, then compress the last of the longest runs instead.
      const words = Address6.fromBigInt(v)
        .canonicalForm()
        .split(':')
        .map((w) => Number.parseInt(w, 16));
      let best = -1;
      let len = 1;
      for (let i = 0; i < 8; i++) {
        let j = i;
        while (j < 8 && words[j] === 0) j++;
        if (j - i >= len && j - i >= 2) {
          best = i;
          len = j - i;
        }
        i = Math.max(i, j);
      }
      const hex = (a: number, b: number) =>
        words
          .slice(a, b)
          .map((w) => w.toString(16))
          .join(':');
      return best < 0 ? text : `${hex(0, best)}::${hex(best + len, 8)}`;
    },
    'a single zero group as "::"': (v) => {
      const text = ip.formatIpv6(v);
      return text.includes('::') ? text : text.replace(/(^|:)0(:|$)/, '::');
    },
  };
  for (const [bug, format] of Object.entries(planted)) {
    t.not(checkFormat6(r, N, format, ip.parseIpv6).length, 0, `catches: ${bug}`);
  }
  const dropsLastGroup = (text: string) => {
    const v = ip.parseIpv6(text);
    return v === undefined ? v : (v >> 16n) << 16n;
  };
  t.not(checkFormat6(r, N, ip.formatIpv6, dropsLastGroup).length, 0, 'catches a bad parse-back');
  t.same(checkFormat6(r, N, ip.formatIpv6, ip.parseIpv6), [], 'passes the real one');
});

t.test('the spellings checker', async (t) => {
  const r = seeded(t);
  const planted: Record<string, (text: string) => bigint | undefined> = {
    'refuses upper case': (text) => (/[A-F]/.test(text) ? undefined : ip.parseIpv6(text)),
    'refuses a "::" for one group': (text) =>
      text.includes('::') && text.split(':').filter(Boolean).length === 7 && !text.includes('.')
        ? undefined
        : ip.parseIpv6(text),
    'refuses a dotted tail after hex groups': (text) =>
      /[0-9a-f]:[0-9.]+$/i.test(text) && text.includes('.') ? undefined : ip.parseIpv6(text),
  };
  for (const [bug, parse] of Object.entries(planted)) {
    t.not(checkSpellings6(r, N, parse).length, 0, `catches: ${bug}`);
  }
});

t.test('the parsers checker (fuzz)', async (t) => {
  const r = seeded(t);
  const planted: [keyof Parsers, string, Partial<Parsers>][] = [
    [
      'parseIpv4',
      'accepts leading zeros',
      { parseIpv4: (text) => ip.parseIpv4(text.replace(/(^|\.)0+(\d)/g, '$1$2')) },
    ],
    [
      'parseIpv6',
      'accepts zones',
      { parseIpv6: (text) => ip.parseIpv6(text.split('%')[0] as string) },
    ],
    ['parseIp', 'accepts surrounding blanks', { parseIp: (text) => ip.parseIp(text.trim()) }],
    [
      'parseIp',
      'throws on odd input',
      {
        parseIp: (text) => {
          if (text.includes('%')) throw new Error('boom');
          return ip.parseIp(text);
        },
      },
    ],
    ['parseIpBytes', 'little-endian', { parseIpBytes: (text) => ip.parseIpBytes(text)?.reverse() }],
    [
      'canonicalIp',
      'no dotted tail',
      {
        canonicalIp: (text) => {
          const v = ip.parseIpv6(text);
          return v === undefined ? ip.canonicalIp(text) : Address6.fromBigInt(v).correctForm();
        },
      },
    ],
    [
      'parsePrefix',
      'accepts a leading zero in the length',
      { parsePrefix: (text) => ip.parsePrefix(text.replace(/\/0+(\d)/, '/$1')) },
    ],
    [
      'canonicalMac',
      'keeps upper case',
      { canonicalMac: (text) => (ip.canonicalMac(text) === undefined ? undefined : text) },
    ],
    [
      'parseLinkAddress',
      'accepts a single byte',
      {
        parseLinkAddress: (text) =>
          /^[0-9a-f]{1,2}$/i.test(text)
            ? Uint8Array.of(Number.parseInt(text, 16))
            : ip.parseLinkAddress(text),
      },
    ],
  ];
  for (const [name, bug, replace] of planted) {
    const found = checkParsers(r, N, { ...ip, ...replace });
    t.ok(
      found.length > 0 && found.every((m) => m.startsWith(`${name}(`)),
      `catches ${name}: ${bug}`,
    );
  }
  t.same(checkParsers(r, N, ip), [], 'passes the real ones');
});
