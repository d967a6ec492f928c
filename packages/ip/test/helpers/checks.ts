// The agreement checks, written over the implementation they check so that a test can hand them
// a deliberately broken one and see them fail (test/checkers.test.ts): a checker is trusted only
// once it has caught a planted bug. Each returns its first few mismatches as messages.
import type * as ip from '../../src/index.js';
import { generateInputs, randomIpv6, spellIpv6 } from './generate.js';
import type { Rng } from './random.js';
import {
  refCanonicalIp,
  refCanonicalMac,
  refFormatIpv6,
  refParseIp,
  refParseIpv4,
  refParseIpv6,
  refParseLinkAddress,
  refParsePrefix,
} from './reference.js';

const MAX_REPORTED = 5;

const show = (x: unknown): string => {
  if (typeof x === 'bigint') return `0x${x.toString(16)}`;
  if (x instanceof Uint8Array) return `[${[...x].join(',')}]`;
  return (
    JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)) ?? 'undefined'
  );
};

/** format(v) equals the reference's text for `n` random values, and parses back to v. */
export function checkFormat6(
  r: Rng,
  n: number,
  format: (v: bigint) => string,
  parse: (text: string) => bigint | undefined,
): string[] {
  const bad: string[] = [];
  for (let i = 0; i < n && bad.length < MAX_REPORTED; i++) {
    const v = randomIpv6(r);
    const text = format(v);
    const want = refFormatIpv6(v);
    if (text !== want) bad.push(`format ${show(v)}: ${text}, reference ${want} (seed ${r.seed})`);
    else if (parse(text) !== v) {
      bad.push(`parse(format(${show(v)})) = ${show(parse(text))} (seed ${r.seed})`);
    }
  }
  return bad;
}

/** parse(text) equals v for `n` random spellings of random values. */
export function checkSpellings6(
  r: Rng,
  n: number,
  parse: (text: string) => bigint | undefined,
): string[] {
  const bad: string[] = [];
  for (let i = 0; i < n && bad.length < MAX_REPORTED; i++) {
    const v = randomIpv6(r);
    const text = spellIpv6(r, v);
    const got = parse(text);
    if (got !== v) bad.push(`parse ${show(text)}: ${show(got)}, want ${show(v)} (seed ${r.seed})`);
  }
  return bad;
}

/** The text parsers of the library, as checkParsers takes them. */
export type Parsers = Pick<
  typeof ip,
  | 'parseIpv4'
  | 'parseIpv6'
  | 'parseIp'
  | 'parseIpBytes'
  | 'canonicalIp'
  | 'parsePrefix'
  | 'canonicalMac'
  | 'parseLinkAddress'
>;

function bytesOf(v: bigint | undefined, size: number): Uint8Array | undefined {
  if (v === undefined) return undefined;
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number((v >> BigInt(8 * (size - 1 - i))) & 0xffn);
  return out;
}

/**
 * Every parser, on `n` random, mutated and well-formed texts (addresses, prefixes, link-layer
 * addresses), never throws and agrees with its reference on validity and result.
 */
export function checkParsers(r: Rng, n: number, impl: Parsers): string[] {
  const bad: string[] = [];
  const agree = (name: string, text: string, run: () => unknown, want: unknown) => {
    let got: unknown;
    try {
      got = run();
    } catch (e) {
      bad.push(`${name}(${show(text)}) threw ${e} (seed ${r.seed})`);
      return;
    }
    if (show(got) !== show(want)) {
      bad.push(`${name}(${show(text)}) = ${show(got)}, reference ${show(want)} (seed ${r.seed})`);
    }
  };
  for (const text of generateInputs(r, n)) {
    if (bad.length >= MAX_REPORTED) break;
    const six = text.includes(':');
    const value = refParseIp(text);
    agree('parseIpv4', text, () => impl.parseIpv4(text), refParseIpv4(text));
    agree('parseIpv6', text, () => impl.parseIpv6(text), refParseIpv6(text));
    agree('parseIp', text, () => impl.parseIp(text), value);
    agree('parseIpBytes', text, () => impl.parseIpBytes(text), bytesOf(value, six ? 16 : 4));
    agree('canonicalIp', text, () => impl.canonicalIp(text), refCanonicalIp(text));
    const prefix = refParsePrefix(text);
    agree(
      'parsePrefix',
      text,
      () => {
        const p = impl.parsePrefix(text);
        return p && { family: p.family, value: p.value, prefix: p.prefix, ip: p.ip, text: p.text };
      },
      prefix,
    );
    agree('canonicalMac', text, () => impl.canonicalMac(text), refCanonicalMac(text));
    const lladdr = refParseLinkAddress(text);
    agree(
      'parseLinkAddress',
      text,
      () => impl.parseLinkAddress(text),
      lladdr && Uint8Array.from(lladdr),
    );
  }
  return bad;
}
