import t from 'tap';
import { FrameDecoder, FrameTooLargeError, frameHeader } from '../src/runtime/framing.js';

function framed(...frames: Buffer[]): Buffer {
  return Buffer.concat(frames.flatMap((f) => [frameHeader(f.length), f]));
}

t.test('frames are reassembled from any chunking', async (t) => {
  const frames = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(5000, 7), Buffer.from('xyz')];
  const stream = framed(...frames);
  for (const size of [1, 2, 3, 7, 100, stream.length]) {
    const d = new FrameDecoder(1 << 20);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += size) out.push(...d.push(stream.subarray(i, i + size)));
    t.same(out, frames, `chunks of ${size}`);
  }
});

t.test('an announced frame over the limit is an error', async (t) => {
  const d = new FrameDecoder(10);
  t.throws(() => d.push(frameHeader(11)), FrameTooLargeError);
});
