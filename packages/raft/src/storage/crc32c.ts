/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), as LevelDB checksums its write-ahead log,
 * MANIFEST and table blocks. Node has only zlib.crc32 (CRC-32/IEEE). The npm packages that exist
 * are either byte-at-a-time (@aws-crypto/crc32c: ~70 MB/s here, with the AWS SDK's types as
 * dependencies) or native; slicing-by-8 in plain JavaScript runs at ~1 GB/s, which keeps the
 * verification of a store on start within a few tens of milliseconds.
 */
const POLY = 0x82f63b78;
const T = new Int32Array(256 * 8);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[i] = c;
}
for (let i = 0; i < 256; i++) {
  for (let s = 1; s < 8; s++) {
    const p = T[(s - 1) * 256 + i]!;
    T[s * 256 + i] = (p >>> 8) ^ T[p & 0xff]!;
  }
}

/** CRC-32C of `buf[start, end)`, continuing from `crc` (0 to start). */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = ~crc;
  let i = start;
  const end8 = end - ((end - start) & 7);
  for (; i < end8; i += 8) {
    const lo = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c =
      T[1792 + (lo & 0xff)]! ^
      T[1536 + ((lo >>> 8) & 0xff)]! ^
      T[1280 + ((lo >>> 16) & 0xff)]! ^
      T[1024 + (lo >>> 24)]! ^
      T[768 + buf[i + 4]!]! ^
      T[512 + buf[i + 5]!]! ^
      T[256 + buf[i + 6]!]! ^
      T[buf[i + 7]!]!;
  }
  for (; i < end; i++) c = T[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const MASK_DELTA = 0xa282ead8;

/** LevelDB stores CRCs masked (rotated and offset), so a CRC over data holding CRCs stays strong. */
export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}
