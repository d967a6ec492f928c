import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Bytes AES-256-GCM adds to a sealed message (nonce and tag). */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

/** Raised for a key of the wrong size or a keyring operation that would break the ring. */
export class KeyringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyringError';
  }
}

function toKey(key: Uint8Array | string): Buffer {
  const buf = typeof key === 'string' ? Buffer.from(key, 'base64') : Buffer.from(key);
  if (buf.length !== KEY_BYTES) {
    throw new KeyringError(
      `an AES-256-GCM key must be ${KEY_BYTES} bytes (base64 of 32 bytes), got ${buf.length}`,
    );
  }
  return buf;
}

/**
 * A shared set of AES-256-GCM keys. Everything is sealed with the primary key; anything sealed
 * with any installed key opens. Rotation on every member: `install(new)`, then `use(new)`,
 * then `remove(old)` once all members use the new key.
 */
export class Keyring {
  #keys: Buffer[];

  /** `keys[0]` becomes the primary key. Keys are 32 raw bytes or their base64 text. */
  constructor(keys: readonly (Uint8Array | string)[]) {
    if (keys.length === 0) throw new KeyringError('a keyring needs at least one key');
    this.#keys = [];
    for (const k of keys) {
      const key = toKey(k);
      if (!this.#keys.some((x) => x.equals(key))) this.#keys.push(key);
    }
  }

  /** A fresh random key, base64-encoded. */
  static generateKey(): string {
    return randomBytes(KEY_BYTES).toString('base64');
  }

  get primary(): Uint8Array {
    return this.#keys[0] as Buffer;
  }

  /** Installed keys, primary first. */
  keys(): Uint8Array[] {
    return this.#keys.map((k) => Buffer.from(k));
  }

  /** Adds a key for decryption (no-op if present). */
  install(key: Uint8Array | string): void {
    const k = toKey(key);
    if (!this.#keys.some((x) => x.equals(k))) this.#keys.push(k);
  }

  /** Makes an installed key the primary one. */
  use(key: Uint8Array | string): void {
    const k = toKey(key);
    const i = this.#keys.findIndex((x) => x.equals(k));
    if (i < 0) throw new KeyringError('use: the key is not installed; install it first');
    this.#keys.splice(i, 1);
    this.#keys.unshift(k);
  }

  /** Removes a key that is not the primary one. */
  remove(key: Uint8Array | string): void {
    const k = toKey(key);
    const i = this.#keys.findIndex((x) => x.equals(k));
    if (i === 0) throw new KeyringError('remove: cannot remove the primary key; use another first');
    if (i > 0) this.#keys.splice(i, 1);
  }

  /** `aad` is authenticated, not encrypted; returns nonce + ciphertext + tag. */
  seal(aad: Uint8Array, plaintext: Uint8Array): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys[0] as Buffer, nonce);
    cipher.setAAD(aad);
    const body = cipher.update(plaintext);
    cipher.final();
    return Buffer.concat([nonce, body, cipher.getAuthTag()]);
  }

  /** The plaintext, or null when no installed key authenticates `sealed`. */
  open(aad: Uint8Array, sealed: Uint8Array): Buffer | null {
    if (sealed.length < SEAL_OVERHEAD) return null;
    const nonce = sealed.subarray(0, NONCE_BYTES);
    const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    for (const key of this.#keys) {
      try {
        const d = createDecipheriv('aes-256-gcm', key, nonce);
        d.setAAD(aad);
        d.setAuthTag(tag);
        const out = d.update(body);
        d.final();
        return out;
      } catch {
        // Wrong key or tampered data: try the next key.
      }
    }
    return null;
  }
}
