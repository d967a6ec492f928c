// Inputs for the property and fuzz tests: addresses biased towards the shapes that matter for
// printing (runs of zero groups, IPv4-mapped and -compatible), every valid way of spelling them,
// and mangled text.
import type { Rng } from './random.js';

/** A uint32 whose octets are often 0 or 255. */
export function randomIpv4(r: Rng): number {
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const k = r.next();
    v = v * 256 + (k < 0.2 ? 0 : k < 0.3 ? 255 : r.int(256));
  }
  return v;
}

/** A 128-bit value built from groups that are often zero, with the special shapes mixed in. */
export function randomIpv6(r: Rng): bigint {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) {
    const k = r.next();
    words.push(k < 0.45 ? 0 : k < 0.5 ? 0xffff : k < 0.6 ? r.int(16) : r.int(0x10000));
  }
  const shape = r.next();
  if (shape < 0.1)
    words.fill(0, 0, 5).fill(0xffff, 5, 6); // ::ffff:a.b.c.d
  else if (shape < 0.2)
    words.fill(0, 0, 6); // ::a.b.c.d (and ::x)
  else if (shape < 0.25)
    words.fill(0, 0, 7); // ::x
  else if (shape < 0.27) words.fill(r.next() < 0.5 ? 0 : 0xffff);
  return fromWords(words);
}

export function fromWords(words: readonly number[]): bigint {
  let v = 0n;
  for (const w of words) v = (v << 16n) | BigInt(w);
  return v;
}

export function toWords(v: bigint): number[] {
  const out: number[] = [];
  for (let i = 7; i >= 0; i--) out.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  return out;
}

const dotted = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/** A hex group with 0-3 leading zeros added (up to 4 digits) and random letter case. */
function spellGroup(r: Rng, w: number): string {
  let s = w.toString(16);
  if (r.next() < 0.3) s = s.padStart(s.length + r.int(5 - s.length), '0');
  if (r.next() < 0.3) s = s.toUpperCase();
  return s;
}

/**
 * One of the many valid RFC 4291 spellings of `v`: maybe a dotted-quad tail, maybe "::" for any
 * run of zero groups (not only the longest, possibly a single group), padded and upper-case groups.
 */
export function spellIpv6(r: Rng, v: bigint): string {
  const words = toWords(v);
  const dottedTail = r.next() < 0.25;
  const last = dottedTail ? 6 : 8;
  // Candidate "::" placements: any [from, to) of zero groups before the dotted tail.
  const runs: [number, number][] = [];
  for (let from = 0; from < last; from++) {
    for (let to = from + 1; to <= last && words[to - 1] === 0; to++) runs.push([from, to]);
  }
  const gap = runs.length > 0 && r.next() < 0.8 ? r.pick(runs) : undefined;
  const part = (a: number, b: number) =>
    words
      .slice(a, b)
      .map((w) => spellGroup(r, w))
      .join(':');
  let head: string;
  if (gap === undefined) head = part(0, last);
  else head = `${part(0, gap[0])}::${part(gap[1], last)}`;
  if (!dottedTail) return head;
  const sep = head === '' || head.endsWith('::') ? '' : ':';
  return `${head}${sep}${dotted(words[6] as number, words[7] as number)}`;
}

const NOISE = [
  ':',
  '::',
  '.',
  '0',
  '00',
  '1',
  '9',
  'a',
  'F',
  'g',
  'x',
  '%',
  '%eth0',
  '/',
  '/64',
  ' ',
  '\n',
  '[',
  ']',
  '-',
  '256',
  '1.2.3.4',
  'ffff',
  '12345',
  'é',
  '\u0660',
];

/** `text` with one to three random edits: deletions, insertions, replacements, duplications. */
export function mutate(r: Rng, text: string): string {
  let s = text;
  for (let n = 1 + r.int(3); n > 0; n--) {
    const at = r.int(s.length + 1);
    const op = r.int(4);
    if (op === 0) s = s.slice(0, at) + s.slice(at + 1 + r.int(2));
    else if (op === 1) s = s.slice(0, at) + r.pick(NOISE) + s.slice(at);
    else if (op === 2) s = s.slice(0, at) + r.pick(NOISE) + s.slice(at + 1);
    else s = s.slice(0, at) + s.slice(r.int(at + 1), at) + s.slice(at);
  }
  return s;
}

/** A short string of characters that appear in addresses, and some that do not. */
export function randomText(r: Rng): string {
  const chars = '0123456789abcdefABCDEF:.:.:/%gz ';
  let s = '';
  for (let n = r.int(46); n > 0; n--) s += chars[r.int(chars.length)];
  return s;
}

/** Link-layer address text: six bytes (often a group or zero MAC) or 1-33 bytes of 1-2 digits. */
export function spellLinkAddress(r: Rng): string {
  const mac = r.next() < 0.6;
  const n = mac ? 6 : 1 + r.int(33);
  const bytes = Array.from({ length: n }, () => r.int(256));
  if (mac && r.next() < 0.2) bytes.fill(r.next() < 0.5 ? 0 : 0xff);
  if (mac && r.next() < 0.2) bytes[0] = (bytes[0] as number) | 1;
  const upper = r.next() < 0.3;
  return bytes
    .map((b) => {
      let s = b.toString(16);
      if (mac || r.next() < 0.5) s = s.padStart(2, '0');
      return upper ? s.toUpperCase() : s;
    })
    .join(':');
}

/** Fuzz inputs: well-formed texts (addresses, prefixes, MACs), the same mutated, random strings. */
export function* generateInputs(r: Rng, n: number): Generator<string> {
  for (let i = 0; i < n; i++) {
    const k = r.next();
    let valid: string;
    if (k < 0.15) valid = spellLinkAddress(r);
    else {
      const six = k >= 0.55;
      const v4 = randomIpv4(r);
      valid = six
        ? spellIpv6(r, randomIpv6(r))
        : `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`;
      if (r.next() < 0.3) {
        const len = r.int(six ? 131 : 35);
        valid += `/${r.next() < 0.05 ? '0' : ''}${len}`;
      }
    }
    const kind = r.next();
    if (kind < 0.3) yield valid;
    else if (kind < 0.9) yield mutate(r, valid);
    else yield randomText(r);
  }
}
