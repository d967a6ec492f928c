// IPv4 text <-> uint32 and bytes. Text is the strict dotted quad inet_pton accepts: four decimal
// octets, no leading zeros, nothing else (no shorthand such as "10.1", no octal, no spaces).

/** `text[from, to)` as a dotted quad: its value as a uint32, or -1 when it is not one. */
export function scanIpv4(text: string, from: number, to: number): number {
  let value = 0;
  let octets = 0;
  let octet = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || octets === 3) return -1;
      value = value * 256 + octet;
      octets++;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || octets !== 3) return -1;
  return value * 256 + octet;
}

/** The strict dotted quad `text[0, end)` as an unsigned 32-bit number, or undefined. */
export function parseIpv4(text: string, end = text.length): number | undefined {
  const v = scanIpv4(text, 0, end);
  return v < 0 ? undefined : v;
}

/**
 * Writes the 4 bytes (network order) of the dotted quad `text[0, end)` at `buf[at]`; false, with
 * nothing written, when it is not one.
 */
export function parseIpv4Into(
  text: string,
  buf: Uint8Array,
  at: number,
  end = text.length,
): boolean {
  const v = scanIpv4(text, 0, end);
  if (v < 0) return false;
  buf[at] = v >>> 24;
  buf[at + 1] = (v >>> 16) & 255;
  buf[at + 2] = (v >>> 8) & 255;
  buf[at + 3] = v & 255;
  return true;
}

/** Dotted-quad text of a uint32; RangeError for anything else. */
export function formatIpv4(value: number): string {
  if (value >>> 0 !== value) throw new RangeError(`${value} is not an IPv4 address (uint32)`);
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** Dotted-quad text of the 4 bytes at `buf[at]`. */
export function formatIpv4Bytes(buf: Uint8Array, at = 0): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}
