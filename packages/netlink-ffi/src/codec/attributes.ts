// Netlink message and attribute framing: nlmsghdr (16 bytes), rtattr/nlattr (4-byte header,
// payload padded to 4 bytes), native byte order (little-endian on every platform koffi ships for
// Linux except the big-endian ones, which this library does not support).
import {
  formatIpBytes,
  formatMac,
  type IpFamily,
  parseIpv4Into,
  parseIpv6Into,
  parseMacInto,
} from '@vnet/ip';
import { NetlinkDecodeError } from '../errors.js';
import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants.js';
import { parseIp, parseMac } from './ip.js';

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;

export const align4 = (n: number): number => (n + 3) & ~3;

/** An attribute as it came from the kernel; kept as-is when the decoder does not know it. */
export interface RawAttribute {
  /** Attribute type without the NLA_F_NESTED / NLA_F_NET_BYTEORDER bits. */
  type: number;
  /** The raw 16-bit type field, flags included. */
  rawType: number;
  /** Payload (a view; it shares memory with the received datagram, which is never reused). */
  data: Buffer;
}

/**
 * Internal: a parsed attribute as a window on the received datagram (no copy, no view object
 * unless `data` is asked for), plus where it sat in the datagram (for error messages).
 */
export class Attribute implements RawAttribute {
  constructor(
    readonly buf: Buffer,
    /** Payload start in `buf`. */
    readonly start: number,
    /** Payload length. */
    readonly length: number,
    readonly type: number,
    readonly rawType: number,
    /** Offset of the attribute header in the datagram. */
    readonly offset: number,
  ) {}

  get data(): Buffer {
    return this.buf.subarray(this.start, this.start + this.length);
  }
}

/**
 * Writes netlink messages one after another into one growable buffer: a batch chunk goes out as
 * one datagram straight from here, with no per-message buffers, objects or copies. Fixed headers
 * (ifinfomsg, rtmsg, ...) are reserved with `fixed` and filled with the set* methods.
 *
 * Bytes past the write position are always zero (the buffer starts zeroed, and `discard` and
 * `clear` zero what they drop), so reserved headers and attribute padding cost no writes.
 */
export class MessageWriter {
  buf: Buffer;
  /** A DataView on `buf`: its accessors are engine builtins, cheaper than Buffer's methods. */
  private view: DataView;
  /** Bytes of finished messages. */
  len = 0;
  /** The sequence number `begin` puts in the header (0 until a sender sets one). */
  seq = 0;
  /** Start of the message being written. */
  private start = 0;
  /** Write position (end of the message being written). */
  private pos = 0;

  constructor(capacity = 256) {
    this.buf = Buffer.alloc(capacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Starts a message after the finished ones; `finish` writes its length. */
  begin(type: number, flags: number): this {
    this.start = this.len;
    this.pos = this.len;
    const at = this.reserve(NLMSG_HDRLEN);
    this.view.setUint32(at + 4, type | (flags << 16), true);
    this.view.setUint32(at + 8, this.seq, true);
    return this;
  }

  /** Appends `n` bytes (padded to 4) and returns where they start. */
  private reserve(n: number): number {
    const at = this.pos;
    const end = at + ((n + 3) & ~3);
    if (end > this.buf.length) this.grow(end);
    this.pos = end;
    return at;
  }

  private grow(end: number): void {
    const next = Buffer.alloc(Math.max(end, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  /** An attribute header for `payload` bytes; returns where the payload goes. */
  private header(type: number, payload: number): number {
    const at = this.reserve(NLA_HDRLEN + payload);
    this.view.setUint32(at, (NLA_HDRLEN + payload) | (type << 16), true);
    return at + NLA_HDRLEN;
  }

  /** Reserves a fixed header (ifinfomsg, rtmsg, ...), zeroed, and returns its offset. */
  fixed(size: number): number {
    return this.reserve(size);
  }

  setU8(offset: number, v: number): void {
    this.buf[offset] = v;
  }

  setU16(offset: number, v: number): void {
    this.view.setUint16(offset, v, true);
  }

  setU32(offset: number, v: number): void {
    this.view.setUint32(offset, v >>> 0, true);
  }

  setI32(offset: number, v: number): void {
    this.view.setInt32(offset, v, true);
  }

  /** An IPv4 or IPv6 address attribute parsed from text; returns its family. */
  ip(type: number, text: unknown, field: string, family?: IpFamily): IpFamily {
    // Parsed straight into the message; what that cannot take goes the general way (and its errors).
    if (typeof text === 'string') {
      const six = family === 6 || (family === undefined && text.includes(':'));
      const size = six ? 16 : 4;
      if (text.length <= (six ? 45 : 15)) {
        const at = this.header(type, size);
        if (six ? parseIpv6Into(text, this.buf, at) : parseIpv4Into(text, this.buf, at)) {
          return six ? 6 : 4;
        }
        this.pos = at - NLA_HDRLEN;
        this.buf.fill(0, this.pos, at + size);
      }
    }
    const bytes = parseIp(text, field, family);
    this.attr(type, bytes);
    return bytes.length === 4 ? 4 : 6;
  }

  /**
   * The address of an IPv4 prefix `a.b.c.d/len` (len 1-32) as attribute `type`; returns the
   * length, or -1 with nothing written when `text` is not such a prefix (the caller then takes
   * the general path, `parsePrefix`).
   */
  ipv4Prefix(type: number, text: string): number {
    const slash = text.indexOf('/');
    const digits = text.length - slash - 1;
    if (slash < 7 || digits < 1 || digits > 2) return -1;
    const hi = text.charCodeAt(slash + 1) - 48;
    const lo = digits === 2 ? text.charCodeAt(slash + 2) - 48 : 0;
    const length = digits === 2 ? hi * 10 + lo : hi;
    if (hi < 1 || hi > 9 || lo < 0 || lo > 9 || length > 32) return -1;
    const at = this.header(type, 4);
    if (parseIpv4Into(text, this.buf, at, slash)) return length;
    this.pos = at - NLA_HDRLEN;
    this.buf.fill(0, this.pos, at + 4);
    return -1;
  }

  /** A link-layer address attribute parsed from text. */
  mac(type: number, text: unknown, field: string): this {
    if (typeof text === 'string' && text.length === 17) {
      const at = this.header(type, 6);
      if (parseMacInto(text, this.buf, at)) return this;
      this.pos = at - NLA_HDRLEN;
      this.buf.fill(0, this.pos, at + 8);
    }
    return this.attr(type, parseMac(text, field));
  }

  attr(type: number, payload: Uint8Array): this {
    const at = this.header(type, payload.length);
    this.buf.set(payload, at);
    return this;
  }

  u8(type: number, v: number): this {
    const at = this.header(type, 1);
    this.buf[at] = v;
    return this;
  }

  u16(type: number, v: number): this {
    const at = this.header(type, 2);
    this.view.setUint16(at, v, true);
    return this;
  }

  /** A 16-bit value in network byte order (ports). */
  u16be(type: number, v: number): this {
    const at = this.header(type, 2);
    this.view.setUint16(at, v, false);
    return this;
  }

  u32(type: number, v: number): this {
    const at = this.header(type, 4);
    this.view.setUint32(at, v >>> 0, true);
    return this;
  }

  /** A NUL-terminated string. */
  string(type: number, s: string): this {
    const at = this.header(type, Buffer.byteLength(s) + 1);
    this.buf.write(s, at, 'utf8');
    return this;
  }

  flag(type: number): this {
    this.header(type, 0);
    return this;
  }

  /** Opens a nested attribute; close it with `end(token)`. */
  nest(type: number): number {
    return this.header(type | NLA_F_NESTED, 0) - NLA_HDRLEN;
  }

  end(token: number): this {
    this.view.setUint16(token, this.pos - token, true);
    return this;
  }

  /** Finishes the message (writes its length; sequence number 0) and returns its offset. */
  finish(): number {
    this.view.setUint32(this.start, this.pos - this.start, true);
    this.len = this.pos;
    return this.start;
  }

  /** Drops the message being written. */
  discard(): void {
    this.buf.fill(0, this.len, this.pos);
    this.pos = this.len;
  }

  /** The finished messages (a view, valid until `clear`). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** Drops every message. */
  clear(): void {
    this.buf.fill(0, 0, this.pos);
    this.len = 0;
    this.pos = 0;
  }
}

/** A writer holding one started message (for one-off requests). */
export function startMessage(type: number, flags: number): MessageWriter {
  return new MessageWriter().begin(type, flags);
}

export function setSeq(message: Buffer, seq: number): void {
  message.writeUInt32LE(seq >>> 0, 8);
}

/** A received netlink message: header fields plus a view of its payload. */
export interface Message {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Payload after the 16-byte header. */
  body: Buffer;
  /** Offset of the header in the datagram. */
  offset: number;
}

/** Splits a datagram into messages. */
export function parseMessages(buf: Buffer): Message[] {
  const out: Message[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) {
      throw new NetlinkDecodeError(`${buf.length - off} stray bytes after the last message`, off);
    }
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || len > buf.length - off) {
      throw new NetlinkDecodeError(
        `message length ${len} outside ${NLMSG_HDRLEN}..${buf.length - off}`,
        off,
      );
    }
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      body: buf.subarray(off + NLMSG_HDRLEN, off + len),
      offset: off,
    });
    off += Math.min(align4(len), buf.length - off);
  }
  return out;
}

/**
 * Parses the attributes in `buf[start, end)`. `base` is the offset of `buf` in the datagram, used
 * only for error positions. Fewer than 4 bytes left at the end are padding.
 */
export function parseAttributes(buf: Buffer, start = 0, end = buf.length, base = 0): Attribute[] {
  const out: Attribute[] = [];
  let off = start;
  while (end - off >= NLA_HDRLEN) {
    const len = buf.readUInt16LE(off);
    const rawType = buf.readUInt16LE(off + 2);
    if (len < NLA_HDRLEN || len > end - off) {
      throw new NetlinkDecodeError(
        `attribute type ${rawType & NLA_TYPE_MASK} has length ${len}, ${end - off} bytes left`,
        base + off,
      );
    }
    out.push(
      new Attribute(
        buf,
        off + NLA_HDRLEN,
        len - NLA_HDRLEN,
        rawType & NLA_TYPE_MASK,
        rawType,
        base + off,
      ),
    );
    off += align4(len);
  }
  return out;
}

/** Attributes nested inside `attr`. */
export function nested(attr: Attribute): Attribute[] {
  const base = attr.offset + NLA_HDRLEN - attr.start;
  return parseAttributes(attr.buf, attr.start, attr.start + attr.length, base);
}

/** An attribute kept as-is for the caller (its payload view is made only if asked for). */
export function raw(attr: Attribute): RawAttribute {
  return attr;
}

function need(attr: Attribute, size: number, what: string): void {
  if (attr.length < size) {
    throw new NetlinkDecodeError(
      `${what} attribute ${attr.type} needs ${size} bytes, has ${attr.length}`,
      attr.offset,
    );
  }
}

export function readU8(attr: Attribute, what: string): number {
  need(attr, 1, what);
  return attr.buf[attr.start] as number;
}

export function readU16(attr: Attribute, what: string): number {
  need(attr, 2, what);
  return attr.buf.readUInt16LE(attr.start);
}

export function readU16be(attr: Attribute, what: string): number {
  need(attr, 2, what);
  return attr.buf.readUInt16BE(attr.start);
}

export function readU32(attr: Attribute, what: string): number {
  need(attr, 4, what);
  return attr.buf.readUInt32LE(attr.start);
}

export function readS32(attr: Attribute, what: string): number {
  need(attr, 4, what);
  return attr.buf.readInt32LE(attr.start);
}

/** A string attribute up to its first NUL (or its end). */
export function readString(attr: Attribute): string {
  const end = attr.start + attr.length;
  let stop = attr.start;
  while (stop < end && attr.buf[stop] !== 0) stop++;
  return attr.buf.toString('utf8', attr.start, stop);
}

/** An IPv4 or IPv6 address attribute of exactly `size` bytes, as text. */
export function readIp(attr: Attribute, size: number, what: string): string {
  if (attr.length !== size) {
    throw new NetlinkDecodeError(`${what} address attribute has ${attr.length} bytes`, attr.offset);
  }
  return formatIpBytes(attr.buf, attr.start, size);
}

/** A link-layer address attribute, as text. */
export function readMac(attr: Attribute): string {
  return formatMac(attr.buf, attr.start, attr.length);
}

/** Checks that a fixed header of `size` bytes fits in a message body. */
export function needBody(msg: Message, size: number, what: string): void {
  if (msg.body.length < size) {
    throw new NetlinkDecodeError(
      `${what} needs a ${size}-byte header, message has ${msg.body.length}`,
      msg.offset,
    );
  }
}

/** Attributes that follow a fixed header of `size` bytes in a message. */
export function bodyAttributes(msg: Message, size: number): Attribute[] {
  return parseAttributes(msg.body, align4(size), msg.body.length, msg.offset + NLMSG_HDRLEN);
}
