// Link-layer addresses as colon-separated hex bytes. A MAC is the six-byte Ethernet kind
// ("70:b3:d5:80:00:02", two digits a byte, either case); a link-layer address in general is what
// iproute2 takes for `lladdr`: 2 to 32 bytes of one or two hex digits each.
import { HEX_BYTE, hexValue } from './hex.js';

/** Writes the six-byte MAC `text` at `buf[at]`; false, with nothing written, when it is not one. */
export function parseMacInto(text: string, buf: Uint8Array, at: number): boolean {
  if (!isMac(text)) return false;
  for (let i = 0; i < 6; i++) {
    buf[at + i] = hexValue(text.charCodeAt(i * 3)) * 16 + hexValue(text.charCodeAt(i * 3 + 1));
  }
  return true;
}

function isMac(text: string): boolean {
  if (text.length !== 17) return false;
  for (let i = 0; i < 17; i++) {
    const c = text.charCodeAt(i);
    if (i % 3 === 2 ? c !== 58 : hexValue(c) < 0) return false;
  }
  return true;
}

/** The lower-case text of a six-byte MAC, or undefined when `text` is not one. */
export function canonicalMac(text: string): string | undefined {
  if (!isMac(text)) return undefined;
  for (let i = 0; i < 17; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 70) return text.toLowerCase();
  }
  return text;
}

/**
 * True for a six-byte MAC that is all zero or a group address (multicast, broadcast: the low bit
 * of the first byte set) — the kinds the kernel puts in forwarding tables by itself. False for
 * unicast MACs and for text that is not a MAC.
 */
export function isGroupOrZeroMac(text: string): boolean {
  if (!isMac(text)) return false;
  if (hexValue(text.charCodeAt(1)) & 1) return true;
  for (let i = 0; i < 17; i++) {
    const c = text.charCodeAt(i);
    if (c !== 48 && c !== 58) return false;
  }
  return true;
}

const linkScratch = new Uint8Array(32);

/** A link-layer address of 2 to 32 bytes (`0:1b:21:3c:9d:f8`, one or two digits a byte), or undefined. */
export function parseLinkAddress(text: string): Uint8Array | undefined {
  let n = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 58;
    if (c === 58) {
      if (digits === 0 || n === 32) return undefined;
      linkScratch[n++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    const d = hexValue(c);
    if (d < 0 || digits === 2) return undefined;
    value = value * 16 + d;
    digits++;
  }
  return n >= 2 ? linkScratch.slice(0, n) : undefined;
}

/** Lower-case colon-separated hex of `length` bytes at `buf[offset]`, as iproute2 prints them. */
export function formatMac(buf: Uint8Array, offset = 0, length = buf.length - offset): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    if (i) out += ':';
    out += HEX_BYTE[buf[offset + i] as number];
  }
  return out;
}
