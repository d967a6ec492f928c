/** Raised when a peer announces a frame larger than allowed. */
export class FrameTooLargeError extends Error {
  constructor(size: number, max: number) {
    super(`stream frame of ${size} bytes exceeds the ${max}-byte limit`);
    this.name = 'FrameTooLargeError';
  }
}

/** Prefixes a frame with its length (u32, big-endian). */
export function frameHeader(length: number): Buffer {
  const h = Buffer.allocUnsafe(4);
  h.writeUInt32BE(length, 0);
  return h;
}

/** Reassembles length-prefixed frames from arbitrary stream chunks. */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(private readonly maxFrame: number) {}

  /** Feeds a chunk; returns the frames it completes. Throws FrameTooLargeError. */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.#buffered < 4) break;
      const head = this.#peek(4);
      const size = head.readUInt32BE(0);
      if (size > this.maxFrame) throw new FrameTooLargeError(size, this.maxFrame);
      if (this.#buffered < 4 + size) break;
      const all = this.#peek(4 + size);
      out.push(Buffer.from(all.subarray(4, 4 + size)));
      this.#consume(4 + size);
    }
    return out;
  }

  #peek(n: number): Buffer {
    if ((this.#chunks[0] as Buffer).length < n) {
      this.#chunks = [Buffer.concat(this.#chunks)];
    }
    return this.#chunks[0] as Buffer;
  }

  #consume(n: number): void {
    const first = this.#chunks[0] as Buffer;
    this.#chunks[0] = first.subarray(n);
    if ((this.#chunks[0] as Buffer).length === 0) this.#chunks.shift();
    this.#buffered -= n;
  }
}
