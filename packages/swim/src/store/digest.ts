// A fixed-size digest of the store for anti-entropy: keys fall into buckets by a hash of the
// key; a bucket's digest is the XOR of its present entries' 48-bit hashes, updated in O(1) as
// entries change. Two members compare digests, then exchange key hashes of the buckets that
// differ, then only the entries that differ.

export const BUCKETS = 64;
const BYTES_PER_BUCKET = 6;
const TWO_32 = 2 ** 32;

/** FNV-1a over the UTF-16 code units of `key`, reduced to a bucket index. */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % BUCKETS;
}

/** XOR of two 48-bit numbers (JavaScript's bitwise operators stop at 32 bits). */
export function xor48(a: number, b: number): number {
  const hi = (Math.floor(a / TWO_32) ^ Math.floor(b / TWO_32)) >>> 0;
  const lo = ((a % TWO_32) ^ (b % TWO_32)) >>> 0;
  return hi * TWO_32 + lo;
}

/** A 48-bit hash of a string and a number (two FNV-1a passes). */
export function hash48(text: string, n: number): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ (n >>> 0);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  a = Math.imul(a ^ Math.floor(n / TWO_32), 0x01000193);
  return ((b >>> 0) & 0xffff) * TWO_32 + (a >>> 0);
}

export class Digest {
  readonly #buckets = new Array<number>(BUCKETS).fill(0);

  /** Adds or removes (XOR is its own inverse) one entry hash. */
  toggle(key: string, hash: number): void {
    const b = bucketOf(key);
    this.#buckets[b] = xor48(this.#buckets[b] as number, hash);
  }

  /** One number for the whole store (XOR of the buckets). */
  root(): number {
    let r = 0;
    for (const b of this.#buckets) r = xor48(r, b);
    return r;
  }

  encode(): Uint8Array {
    const out = Buffer.alloc(BUCKETS * BYTES_PER_BUCKET);
    for (let i = 0; i < BUCKETS; i++)
      out.writeUIntBE(this.#buckets[i] as number, i * BYTES_PER_BUCKET, BYTES_PER_BUCKET);
    return out;
  }

  /** Buckets where `remote` (an encoded digest) differs; all of them if it is malformed. */
  differing(remote: Uint8Array): number[] {
    const out: number[] = [];
    const ok = remote.length === BUCKETS * BYTES_PER_BUCKET;
    const view = Buffer.from(remote.buffer, remote.byteOffset, remote.length);
    for (let i = 0; i < BUCKETS; i++) {
      if (!ok || view.readUIntBE(i * BYTES_PER_BUCKET, BYTES_PER_BUCKET) !== this.#buckets[i])
        out.push(i);
    }
    return out;
  }
}
