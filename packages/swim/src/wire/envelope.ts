import { type Keyring, SEAL_OVERHEAD } from './keyring.js';

/** First byte of every datagram and stream frame; bumped when the format changes. */
export const PROTOCOL_VERSION = 1;

const PLAIN = 0;
const SEALED = 1;
const HEADER_BYTES = 2;

/** Why an incoming datagram or frame was dropped. */
export type DropReason = 'short' | 'version' | 'envelope' | 'auth' | 'plaintext' | 'decode';

export class DropError extends Error {
  constructor(
    readonly reason: DropReason,
    message: string,
  ) {
    super(message);
    this.name = 'DropError';
  }
}

/**
 * The outer layer of every datagram and stream frame: `[version][envelope][body]`, where the
 * envelope byte says whether the body is plain msgpack or AES-256-GCM sealed (the two header
 * bytes are authenticated as associated data).
 */
export class Envelope {
  constructor(
    private readonly keyring?: Keyring,
    /** With a keyring: still accept plain packets (while a cluster turns encryption on). */
    private readonly acceptPlaintext = false,
  ) {}

  /** Bytes this envelope adds around a body. */
  get overhead(): number {
    return HEADER_BYTES + (this.keyring ? SEAL_OVERHEAD : 0);
  }

  seal(body: Uint8Array): Uint8Array {
    if (!this.keyring) {
      const out = new Uint8Array(HEADER_BYTES + body.length);
      out[0] = PROTOCOL_VERSION;
      out[1] = PLAIN;
      out.set(body, HEADER_BYTES);
      return out;
    }
    const header = Uint8Array.of(PROTOCOL_VERSION, SEALED);
    const sealed = this.keyring.seal(header, body);
    const out = new Uint8Array(HEADER_BYTES + sealed.length);
    out.set(header, 0);
    out.set(sealed, HEADER_BYTES);
    return out;
  }

  /** The body inside `data`; throws a DropError naming what was wrong. */
  open(data: Uint8Array): Uint8Array {
    if (data.length <= HEADER_BYTES) throw new DropError('short', `packet of ${data.length} bytes`);
    if (data[0] !== PROTOCOL_VERSION) {
      throw new DropError('version', `protocol version ${data[0]}, expected ${PROTOCOL_VERSION}`);
    }
    const kind = data[1];
    if (kind === PLAIN) {
      if (this.keyring && !this.acceptPlaintext) {
        throw new DropError('plaintext', 'unencrypted packet while encryption is required');
      }
      return data.subarray(HEADER_BYTES);
    }
    if (kind === SEALED) {
      if (!this.keyring) throw new DropError('auth', 'encrypted packet but no keyring configured');
      const body = this.keyring.open(data.subarray(0, HEADER_BYTES), data.subarray(HEADER_BYTES));
      if (!body) throw new DropError('auth', 'no installed key authenticates the packet');
      return body;
    }
    throw new DropError('envelope', `unknown envelope type ${kind}`);
  }
}
