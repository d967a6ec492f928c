// A complete, defensive parser for DNS messages, for the forwarding path (upstream answers) and for
// tests. It records where each record's TTL sits so that cached answers can be re-aged in place.
// It throws MessageError on anything malformed, including compression loops.
import { TYPE_OPT, TYPE_SOA } from './constants.js';
import { readName } from './name.js';

export class MessageError extends Error {
  override name = 'MessageError';
}

export interface ParsedRecord {
  /** Offset of the owner name. */
  offset: number;
  name: string;
  type: number;
  class: number;
  ttl: number;
  ttlOffset: number;
  rdOffset: number;
  rdLength: number;
  /** Offset after the record. */
  end: number;
}

export interface ParsedMessage {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  cd: boolean;
  /** Full RCODE: header bits plus the OPT extension. */
  rcode: number;
  question?: { name: string; type: number; class: number; end: number };
  answers: ParsedRecord[];
  authority: ParsedRecord[];
  additional: ParsedRecord[];
  opt?: ParsedRecord & { udpSize: number; version: number; dnssecOk: boolean };
  /** Bytes after the last record (should be 0). */
  trailing: number;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function parseMessage(buf: Uint8Array): ParsedMessage {
  const end = buf.length;
  if (end < 12) throw new MessageError(`message of ${end} bytes is shorter than a header`);
  const qd = u16(buf, 4);
  const counts = [u16(buf, 6), u16(buf, 8), u16(buf, 10)];
  const m: ParsedMessage = {
    id: u16(buf, 0),
    qr: (buf[2] & 0x80) !== 0,
    opcode: (buf[2] >> 3) & 0x0f,
    aa: (buf[2] & 0x04) !== 0,
    tc: (buf[2] & 0x02) !== 0,
    rd: (buf[2] & 0x01) !== 0,
    ra: (buf[3] & 0x80) !== 0,
    cd: (buf[3] & 0x10) !== 0,
    rcode: buf[3] & 0x0f,
    answers: [],
    authority: [],
    additional: [],
    trailing: 0,
  };
  if (qd > 1) throw new MessageError(`${qd} questions (at most 1 is supported)`);
  let pos = 12;
  if (qd === 1) {
    const n = readName(buf, pos, end);
    if (!n) throw new MessageError(`bad question name at offset ${pos}`);
    if (n.next + 4 > end) throw new MessageError('question runs past the end');
    m.question = {
      name: n.name,
      type: u16(buf, n.next),
      class: u16(buf, n.next + 2),
      end: n.next + 4,
    };
    pos = n.next + 4;
  }
  const sections = [m.answers, m.authority, m.additional];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]; i++) {
      const n = readName(buf, pos, end);
      if (!n) throw new MessageError(`bad owner name at offset ${pos}`);
      const p = n.next;
      if (p + 10 > end) throw new MessageError(`record at offset ${pos} runs past the end`);
      const rdLength = u16(buf, p + 8);
      if (p + 10 + rdLength > end)
        throw new MessageError(`record data at offset ${p + 10} runs past the end`);
      const rr: ParsedRecord = {
        offset: pos,
        name: n.name,
        type: u16(buf, p),
        class: u16(buf, p + 2),
        ttl: u32(buf, p + 4),
        ttlOffset: p + 4,
        rdOffset: p + 10,
        rdLength,
        end: p + 10 + rdLength,
      };
      if (rr.type === TYPE_OPT) {
        if (s !== 2 || m.opt || rr.name !== '')
          throw new MessageError('misplaced or repeated OPT record');
        m.opt = {
          ...rr,
          udpSize: rr.class,
          version: buf[p + 5],
          dnssecOk: (buf[p + 6] & 0x80) !== 0,
        };
        m.rcode |= buf[p + 4] << 4;
      } else {
        sections[s].push(rr);
      }
      pos = rr.end;
    }
  }
  m.trailing = end - pos;
  return m;
}

/** MINIMUM of an SOA record (the negative-caching TTL), or undefined if its data is malformed. */
export function soaMinimum(buf: Uint8Array, rr: ParsedRecord): number | undefined {
  if (rr.type !== TYPE_SOA) return undefined;
  const end = rr.rdOffset + rr.rdLength;
  const mname = readName(buf, rr.rdOffset, end);
  if (!mname) return undefined;
  const rname = readName(buf, mname.next, end);
  if (!rname || rname.next + 20 !== end) return undefined;
  return u32(buf, rname.next + 16);
}
