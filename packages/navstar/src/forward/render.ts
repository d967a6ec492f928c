// Building the reply to a forwarded query from an upstream answer (fresh or cached), or a SERVFAIL.
// The reply carries the client's ID, question spelling and RD bit, our own OPT record when the
// client used EDNS, and TTLs aged by the time the answer spent in the cache.
import type { QueryInfo } from '../answer.js';
import { CLASSIC_UDP_SIZE, RCODE_SERVFAIL, TYPE_OPT } from '../wire/constants.js';
import type { StoredAnswer } from './cache.js';

/** Largest reply for this query: 65535 over TCP, else the EDNS size capped by ours, or 512. */
export function replyLimit(info: QueryInfo, tcp: boolean, maxUdp: number): number {
  if (tcp) return 65535;
  return info.optOffset >= 0
    ? Math.max(CLASSIC_UDP_SIZE, Math.min(info.udpSize, maxUdp))
    : CLASSIC_UDP_SIZE;
}

function putOpt(out: Uint8Array, pos: number, maxUdp: number, dnssecOk: boolean): void {
  out.set([0, 0, TYPE_OPT, maxUdp >> 8, maxUdp & 0xff, 0, 0, dnssecOk ? 0x80 : 0, 0, 0, 0], pos);
}

/** Header and question only, with `rcode` and flags (tc) set; OPT added when the client used EDNS. */
export function emptyReply(
  query: Uint8Array,
  info: QueryInfo,
  rcode: number,
  tc: boolean,
  maxUdp: number,
): Buffer {
  const edns = info.optOffset >= 0;
  const out = Buffer.alloc(info.questionEnd + (edns ? 11 : 0));
  out.set(query.subarray(0, info.questionEnd), 0);
  out[2] = 0x80 | (query[2] & 0x79) | (tc ? 0x02 : 0);
  out[3] = 0x80 | (query[3] & 0x10) | rcode;
  out.fill(0, 4, 12);
  out[5] = 1;
  if (edns) {
    out[11] = 1;
    putOpt(out, info.questionEnd, maxUdp, info.dnssecOk);
  }
  return out;
}

export function servfail(query: Uint8Array, info: QueryInfo, maxUdp: number): Buffer {
  return emptyReply(query, info, RCODE_SERVFAIL, false, maxUdp);
}

/** The reply to `query` from a stored upstream answer `age` seconds old (cached: clear AA). */
export function renderAnswer(
  a: StoredAnswer,
  age: number,
  query: Uint8Array,
  info: QueryInfo,
  limit: number,
  maxUdp: number,
  cached: boolean,
): Buffer {
  const edns = info.optOffset >= 0;
  const size = a.bytes.length + (edns ? 11 : 0);
  if (size > limit) return emptyReply(query, info, a.bytes[3] & 0x0f, true, maxUdp);
  const out = Buffer.allocUnsafe(size);
  out.set(a.bytes, 0);
  out[0] = query[0];
  out[1] = query[1];
  out.set(query.subarray(12, info.questionEnd - 4), 12); // the client's spelling of the name
  out[2] = (out[2] & 0xfe) | (query[2] & 0x01);
  if (cached) out[2] &= ~0x04;
  out[3] |= 0x80;
  if (age > 0) {
    for (let i = 0; i < a.ttlOffsets.length; i++) {
      const ttl = Math.max(0, a.ttls[i] - age);
      out.writeUInt32BE(ttl, a.ttlOffsets[i]);
    }
  }
  if (edns) {
    const ar = ((out[10] << 8) | out[11]) + 1;
    out[10] = ar >> 8;
    out[11] = ar & 0xff;
    putOpt(out, a.bytes.length, maxUdp, info.dnssecOk);
  }
  return out;
}
