// The wire form of a store entry, which is also its canonical form: clocks sorted by node,
// elements by id, fields by name, so equal states encode to equal bytes on every member and a
// hash of the encoding can stand for the state in anti-entropy digests.
//
//   [key, binding, kind, ...body]
//   binding  = null | [owner | null, boot, ts, node]
//   register = 0, ts, node, deleted, value
//   set      = 1, [node, ts, ...], [[value, [node, ts, ...]], ...]
//   map      = 2, [node, ts, ...], [[field, [node, ts, value, ...]], ...]
import { createHash } from 'node:crypto';
import { DropError } from '../wire/envelope.js';
import { pack, unpack } from '../wire/messages.js';
import type { Binding, Clock, CrdtValue, EntryState, FieldWrites, Stamp } from './crdt.js';

const KIND_CODE = { register: 0, set: 1, map: 2 } as const;
const MAX_KEY = 1 << 16;

function bad(what: string): never {
  throw new DropError('decode', `malformed store entry: ${what}`);
}

/** Sorts plain-object keys recursively, so equal values have one encoding. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/**
 * A value as every member will hold it after a trip through msgpack (so hashes agree), with
 * plain-object keys sorted. Throws a TypeError naming what cannot be encoded.
 */
export function normalizeValue(value: unknown): unknown {
  try {
    return unpack(pack(canonical(value)));
  } catch (err) {
    throw new TypeError(`store value cannot be encoded: ${(err as Error).message}`);
  }
}

/** The identity of a set element: its canonical encoding. */
export function elementId(value: unknown): string {
  return Buffer.from(pack(value)).toString('base64');
}

function flatClock(c: Clock): unknown[] {
  const out: unknown[] = [];
  for (const node of [...c.keys()].sort()) out.push(node, c.get(node));
  return out;
}

function flatWrites(w: FieldWrites): unknown[] {
  const out: unknown[] = [];
  for (const node of [...w.keys()].sort()) {
    const x = w.get(node) as { ts: number; value: unknown };
    out.push(node, x.ts, x.value);
  }
  return out;
}

function byKey<T>(m: Map<string, T>): [string, T][] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export function entryToWire(e: EntryState): unknown[] {
  const b = e.binding;
  const binding = b ? [b.owner, b.boot, b.stamp.ts, b.stamp.node] : null;
  const v = e.value;
  switch (v.kind) {
    case 'register':
      return [e.key, binding, KIND_CODE.register, v.stamp.ts, v.stamp.node, v.deleted, v.value];
    case 'set':
      return [
        e.key,
        binding,
        KIND_CODE.set,
        flatClock(v.vv),
        byKey(v.elems).map(([, x]) => [x.value, flatClock(x.dots)]),
      ];
    case 'map':
      return [
        e.key,
        binding,
        KIND_CODE.map,
        flatClock(v.vv),
        byKey(v.fields).map(([f, writes]) => [f, flatWrites(writes)]),
      ];
  }
}

function str(v: unknown, what: string, max = 256): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) bad(what);
  return v;
}
function ts(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(what);
  return v;
}
function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) bad(what);
  return v;
}
function clock(v: unknown, what: string): Clock {
  const a = arr(v, what);
  if (a.length % 2 !== 0) bad(what);
  const out: Clock = new Map();
  for (let i = 0; i < a.length; i += 2)
    out.set(str(a[i], `${what} node`), ts(a[i + 1], `${what} time`));
  return out;
}
function stamp(t: unknown, node: unknown, what: string): Stamp {
  return { ts: ts(t, `${what} time`), node: str(node, `${what} node`) };
}

export function entryFromWire(w: readonly unknown[]): EntryState {
  const key = str(w[0], 'key', MAX_KEY);
  let binding: Binding | null = null;
  if (w[1] !== null && w[1] !== undefined) {
    const b = arr(w[1], 'binding');
    binding = {
      owner: b[0] === null ? null : str(b[0], 'binding owner'),
      boot: ts(b[1], 'binding boot'),
      stamp: stamp(b[2], b[3], 'binding'),
    };
  }
  let value: CrdtValue;
  switch (w[2]) {
    case KIND_CODE.register:
      value = {
        kind: 'register',
        stamp: stamp(w[3], w[4], 'register'),
        deleted: w[5] === true,
        value: w[6],
      };
      break;
    case KIND_CODE.set: {
      const elems = new Map<string, { value: unknown; dots: Clock }>();
      for (const x of arr(w[4], 'set elements')) {
        const a = arr(x, 'set element');
        const dots = clock(a[1], 'element dots');
        if (dots.size === 0) bad('element without dots');
        elems.set(elementId(a[0]), { value: a[0], dots });
      }
      value = { kind: 'set', vv: clock(w[3], 'version vector'), elems };
      break;
    }
    case KIND_CODE.map: {
      const fields = new Map<string, FieldWrites>();
      for (const x of arr(w[4], 'map fields')) {
        const a = arr(x, 'map field');
        const flat = arr(a[1], 'field writes');
        if (flat.length === 0 || flat.length % 3 !== 0) bad('field writes');
        const writes: FieldWrites = new Map();
        for (let i = 0; i < flat.length; i += 3) {
          writes.set(str(flat[i], 'field writer'), {
            ts: ts(flat[i + 1], 'field time'),
            value: flat[i + 2],
          });
        }
        fields.set(str(a[0], 'field name', MAX_KEY), writes);
      }
      value = { kind: 'map', vv: clock(w[3], 'version vector'), fields };
      break;
    }
    default:
      bad(`unknown kind ${String(w[2])}`);
  }
  return { key, binding, value };
}

/** A 48-bit hash of an encoded entry (safe to carry as a msgpack integer). */
export function hashBytes(bytes: Uint8Array): number {
  const d = createHash('sha1').update(bytes).digest();
  return d.readUIntBE(0, 6);
}
