/*
 * A Snappy decoder (the raw format, https://github.com/google/snappy/blob/main/format_description.txt),
 * only for what the store verifier must parse: LevelDB compresses a table's index and metaindex
 * blocks like its data blocks, and those blocks say where the data blocks are. Every read is
 * bounds-checked; malformed input throws SnappyError and nothing else.
 */
export class SnappyError extends Error {
  override name = 'SnappyError';
}

/** Decompresses `src`; refuses output longer than `maxLength`. */
export function snappyDecompress(src: Uint8Array, maxLength: number): Uint8Array {
  let p = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (p >= src.length || shift > 28) throw new SnappyError('bad length preamble');
    const b = src[p++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (length > maxLength) throw new SnappyError(`uncompressed length ${length} is implausible`);
  const out = new Uint8Array(length);
  let o = 0;
  while (p < src.length) {
    const tag = src[p++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const bytes = n - 59;
        if (p + bytes > src.length) throw new SnappyError('literal length runs past the input');
        n = 0;
        for (let k = 0; k < bytes; k++) n += src[p + k]! * 2 ** (8 * k);
        p += bytes;
      }
      n += 1;
      if (p + n > src.length) throw new SnappyError('literal runs past the input');
      if (o + n > length) throw new SnappyError('literal runs past the output');
      out.set(src.subarray(p, p + n), o);
      p += n;
      o += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      if (p + 1 > src.length) throw new SnappyError('copy runs past the input');
      n = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[p]!;
      p += 1;
    } else if (kind === 2) {
      if (p + 2 > src.length) throw new SnappyError('copy runs past the input');
      n = (tag >>> 2) + 1;
      offset = src[p]! | (src[p + 1]! << 8);
      p += 2;
    } else {
      if (p + 4 > src.length) throw new SnappyError('copy runs past the input');
      n = (tag >>> 2) + 1;
      offset = (src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24)) >>> 0;
      p += 4;
    }
    if (offset === 0 || offset > o) throw new SnappyError(`copy offset ${offset} at output ${o}`);
    if (o + n > length) throw new SnappyError('copy runs past the output');
    for (let k = 0; k < n; k++, o++) out[o] = out[o - offset]!;
  }
  if (o !== length) throw new SnappyError(`decoded ${o} bytes, the preamble says ${length}`);
  return out;
}
