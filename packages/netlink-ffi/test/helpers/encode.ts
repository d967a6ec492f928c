// Encoding without a kernel: link names get a fixed index, namespaces a made-up fd.
import { MessageWriter } from '../../src/codec/attributes.js';
import type { EncodeContext, LinkRef } from '../../src/objects/common.js';

/** A context whose names all resolve to `named` (numbers stay themselves). */
export function context(named = 7): EncodeContext {
  return {
    w: new MessageWriter(),
    index: (ref: LinkRef) => (typeof ref === 'number' ? ref : named),
    netnsFd: () => 3,
  };
}

/** The bytes of the one request `encode` writes (a copy). */
export function encoded(encode: (ctx: EncodeContext) => void, ctx = context()): Buffer {
  ctx.w.clear();
  encode(ctx);
  return Buffer.from(ctx.w.bytes());
}
