// The replicated key-value store of the examples: a deterministic state machine over the raft log.
import type { StateMachine } from '../src/index.js';
import { pack, unpack } from '../src/index.js';

export type KvCommand = { op: 'put'; key: string; value: string } | { op: 'delete'; key: string };

export interface KvResult {
  /** Log index at which the command was applied (a global revision). */
  index: number;
  /** The value the key had before. */
  prev: string | null;
}

export function encodeCommand(c: KvCommand): Uint8Array {
  return c.op === 'put' ? pack(['put', c.key, c.value]) : pack(['delete', c.key]);
}

export function decodeCommand(b: Uint8Array): KvCommand {
  const v = unpack(b, 'kv command');
  if (Array.isArray(v) && v[0] === 'put' && typeof v[1] === 'string' && typeof v[2] === 'string') {
    return { op: 'put', key: v[1], value: v[2] };
  }
  if (Array.isArray(v) && v[0] === 'delete' && typeof v[1] === 'string')
    return { op: 'delete', key: v[1] };
  throw new Error(
    `kv command: expected ['put', key, value] or ['delete', key], got ${JSON.stringify(v)}`,
  );
}

export class KvStore implements StateMachine<KvResult> {
  private data = new Map<string, string>();
  /** Index of the last applied command (0 after a restore until the next one). */
  lastIndex = 0;

  apply(command: Uint8Array, index: number): KvResult {
    const c = decodeCommand(command);
    const prev = this.data.get(c.key) ?? null;
    if (c.op === 'put') this.data.set(c.key, c.value);
    else this.data.delete(c.key);
    this.lastIndex = index;
    return { index, prev };
  }

  snapshot(): Uint8Array {
    return pack([...this.data.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  restore(data: Uint8Array): void {
    const v = unpack(data, 'kv snapshot');
    if (!Array.isArray(v)) throw new Error('kv snapshot: expected an array of [key, value]');
    this.data = new Map(v as [string, string][]);
  }

  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  size(): number {
    return this.data.size;
  }

  /** A digest of the whole state, to compare replicas. */
  digest(): string {
    return Buffer.from(this.snapshot()).toString('base64');
  }
}
