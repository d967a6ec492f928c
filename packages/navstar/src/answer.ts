// The query path: one function from a received packet to a response, used by every transport and
// every UDP worker thread. It parses only what it needs, straight from the packet (no object per
// query but the key string), looks the name up by its lower-cased wire form, and copies
// precomputed answer bytes.
// It never throws on any input: malformed packets become FORMERR or are dropped and counted.
import { AUTHORITATIVE, DROPPED, FORWARDED, MALFORMED } from './counters.js';
import {
  CLASS_ANY,
  CLASS_IN,
  CLASSIC_UDP_SIZE,
  RCODE_BADVERS,
  RCODE_FORMERR,
  RCODE_NOERROR,
  RCODE_NOTIMP,
  RCODE_NXDOMAIN,
  RCODE_REFUSED,
  TYPE_A,
  TYPE_AAAA,
  TYPE_ANY,
  TYPE_AXFR,
  TYPE_IXFR,
  TYPE_NS,
  TYPE_OPT,
  TYPE_SOA,
  TYPE_SRV,
} from './wire/constants.js';
import type { NameEntry, ZoneWire } from './zone/entry.js';

/** Node's Buffer has latin1Slice (what toString('latin1') calls) without the encoding switch. */
type LatinBuffer = Buffer & { latin1Slice(start: number, end: number): string };

/** answerQuery result: hand the query to the forwarder. */
export const FORWARD = -1;
/** answerQuery result: send nothing. */
export const DROP = 0;

/** What the parser learnt about the last query (valid after a FORWARD result). */
export interface QueryInfo {
  /** Lower-cased wire name as a latin1 string. */
  key: string;
  qtype: number;
  qclass: number;
  /** Offset just after QTYPE/QCLASS. */
  questionEnd: number;
  /** Offset of the OPT record, or -1 without EDNS. */
  optOffset: number;
  /** Requestor's UDP payload size (512 without EDNS). */
  udpSize: number;
  dnssecOk: boolean;
}

export interface AnswerContext {
  table: Map<string, NameEntry>;
  /** Longest zone first. */
  zones: ZoneWire[];
  /** Our EDNS UDP payload size: the largest UDP response we send. */
  maxUdp: number;
  /** Forward out-of-zone queries (RA set); without it they are REFUSED. */
  recursion: boolean;
  counters: Float64Array;
  /** Round-robin position for rotating address answers. */
  rotate: number;
  info: QueryInfo;
  /** Scratch: offsets of the question's labels. */
  labelStarts: Int32Array;
}

export function newQueryInfo(): QueryInfo {
  return {
    key: '',
    qtype: 0,
    qclass: 0,
    questionEnd: 0,
    optOffset: -1,
    udpSize: CLASSIC_UDP_SIZE,
    dnssecOk: false,
  };
}

export function createAnswerContext(
  table: Map<string, NameEntry>,
  zones: ZoneWire[],
  opts: { maxUdp: number; recursion: boolean; counters: Float64Array },
): AnswerContext {
  return {
    table,
    zones,
    maxUdp: opts.maxUdp,
    recursion: opts.recursion,
    counters: opts.counters,
    rotate: 0,
    info: newQueryInfo(),
    labelStarts: new Int32Array(128),
  };
}

/** Header-only reply (no question echoed): FORMERR and NOTIMP for packets we did not parse. */
function bareReply(q: Uint8Array, out: Uint8Array, rcode: number): number {
  out[0] = q[0];
  out[1] = q[1];
  out[2] = 0x80 | (q[2] & 0x79); // QR, opcode and RD kept
  out[3] = rcode;
  out.fill(0, 4, 12);
  return 12;
}

function writeOpt(
  out: Uint8Array,
  pos: number,
  size: number,
  extRcode: number,
  dnssecOk: boolean,
): number {
  out[pos] = 0;
  out[pos + 1] = 0;
  out[pos + 2] = TYPE_OPT;
  out[pos + 3] = size >> 8;
  out[pos + 4] = size & 0xff;
  out[pos + 5] = extRcode;
  out[pos + 6] = 0;
  out[pos + 7] = dnssecOk ? 0x80 : 0;
  out[pos + 8] = 0;
  out[pos + 9] = 0;
  out[pos + 10] = 0;
  return pos + 11;
}

/**
 * Answers the query in q[0..n) into `out`. Returns the response length, DROP, or FORWARD (then
 * ctx.info describes the query). `tcp` lifts the UDP size limit. `out` must hold at least 512
 * bytes; responses larger than `out` (or than the UDP limit) are sent truncated with TC.
 */
export function answerQuery(
  q: Buffer,
  n: number,
  out: Buffer,
  tcp: boolean,
  ctx: AnswerContext,
): number {
  const c = ctx.counters;
  const labelStarts = ctx.labelStarts;
  if (n < 12 || q[2] & 0x80) {
    // Too short to answer, or a response (answering responses invites reflection loops).
    if (n < 12) c[MALFORMED]++;
    c[DROPPED]++;
    return DROP;
  }
  if (((q[2] >> 3) & 0x0f) !== 0) return bareReply(q, out, RCODE_NOTIMP);
  if (q[4] !== 0 || q[5] !== 1 || q[6] !== 0 || q[7] !== 0 || q[8] !== 0 || q[9] !== 0) {
    c[MALFORMED]++;
    return bareReply(q, out, RCODE_FORMERR);
  }
  // Question name: plain labels only (a pointer in the first name could only point at the header).
  let pos = 12;
  let labels = 0;
  for (;;) {
    if (pos >= n) return formErr(q, out, c);
    const len = q[pos];
    if (len === 0) break;
    if (len > 63 || labels === 127) return formErr(q, out, c);
    labelStarts[labels++] = pos - 12;
    pos += 1 + len;
    if (pos - 12 > 254) return formErr(q, out, c);
  }
  const nameEnd = pos + 1;
  if (nameEnd + 4 > n) return formErr(q, out, c);
  const qtype = (q[nameEnd] << 8) | q[nameEnd + 1];
  const qclass = (q[nameEnd + 2] << 8) | q[nameEnd + 3];
  pos = nameEnd + 4;
  const questionEnd = pos;
  // Additional section: at most one OPT (root owner, well-formed options); others are skipped.
  let optOffset = -1;
  let udpSize = CLASSIC_UDP_SIZE;
  let version = 0;
  let dnssecOk = false;
  const ar = (q[10] << 8) | q[11];
  for (let i = 0; i < ar; i++) {
    const start = pos;
    // Owner name: labels, ending at a zero byte or a pointer.
    for (;;) {
      if (pos >= n) return formErr(q, out, c);
      const len = q[pos];
      if (len === 0) {
        pos++;
        break;
      }
      if ((len & 0xc0) === 0xc0) {
        pos += 2;
        break;
      }
      if (len > 63) return formErr(q, out, c);
      pos += 1 + len;
    }
    if (pos + 10 > n) return formErr(q, out, c);
    const type = (q[pos] << 8) | q[pos + 1];
    const rdEnd = pos + 10 + ((q[pos + 8] << 8) | q[pos + 9]);
    if (rdEnd > n) return formErr(q, out, c);
    if (type === TYPE_OPT) {
      if (optOffset >= 0 || pos !== start + 1) return formErr(q, out, c);
      optOffset = start;
      const size = (q[pos + 2] << 8) | q[pos + 3];
      udpSize = size < CLASSIC_UDP_SIZE ? CLASSIC_UDP_SIZE : size;
      version = q[pos + 5];
      dnssecOk = (q[pos + 6] & 0x80) !== 0;
      let o = pos + 10;
      while (o < rdEnd) {
        if (o + 4 > rdEnd) return formErr(q, out, c);
        o += 4 + ((q[o + 2] << 8) | q[o + 3]);
      }
      if (o !== rdEnd) return formErr(q, out, c);
    }
    pos = rdEnd;
  }
  const limit = tcp
    ? out.length
    : Math.min(out.length, optOffset < 0 ? CLASSIC_UDP_SIZE : Math.min(udpSize, ctx.maxUdp));
  if (optOffset >= 0 && version !== 0) {
    // RFC 6891 6.1.3: BADVERS, our version (0) in the OPT.
    const p = startReply(q, out, nameEnd, RCODE_BADVERS & 0xf, false, 0, 0, 1, ctx.recursion);
    return writeOpt(out, p, ctx.maxUdp, RCODE_BADVERS >> 4, dnssecOk);
  }
  const key = (q as LatinBuffer).latin1Slice(12, nameEnd).toLowerCase();
  const info = ctx.info;
  info.key = key;
  info.qtype = qtype;
  info.qclass = qclass;
  info.questionEnd = questionEnd;
  info.optOffset = optOffset;
  info.udpSize = udpSize;
  info.dnssecOk = dnssecOk;
  // Which zone: the key must end with the zone's key at a label boundary.
  let zone: ZoneWire | undefined;
  let zoneStart = 0;
  const zones = ctx.zones;
  for (let z = 0; z < zones.length && zone === undefined; z++) {
    const zk = zones[z].key;
    if (key.length < zk.length || !key.endsWith(zk)) continue;
    const start = key.length - zk.length;
    if (start === 0) {
      zone = zones[z];
      break;
    }
    for (let l = 0; l < labels; l++) {
      if (labelStarts[l] === start) {
        zone = zones[z];
        zoneStart = start;
        break;
      }
    }
  }
  if (zone === undefined) {
    if (ctx.recursion && qtype !== TYPE_OPT) {
      c[FORWARDED]++;
      return FORWARD;
    }
    const p = startReply(
      q,
      out,
      nameEnd,
      RCODE_REFUSED,
      false,
      0,
      0,
      optOffset >= 0 ? 1 : 0,
      ctx.recursion,
    );
    return optOffset >= 0 ? writeOpt(out, p, ctx.maxUdp, 0, dnssecOk) : p;
  }
  c[AUTHORITATIVE]++;
  const edns = optOffset >= 0 ? 1 : 0;
  if ((qclass !== CLASS_IN && qclass !== CLASS_ANY) || qtype === TYPE_AXFR || qtype === TYPE_IXFR) {
    const p = startReply(q, out, nameEnd, RCODE_REFUSED, false, 0, 0, edns, ctx.recursion);
    return edns ? writeOpt(out, p, ctx.maxUdp, 0, dnssecOk) : p;
  }
  if (qtype === TYPE_OPT) return formErr(q, out, c);
  const entry = ctx.table.get(key);
  let body: Uint8Array | null = null;
  let counts = 0;
  let rotateSize = 0;
  if (entry !== undefined) {
    switch (qtype) {
      case TYPE_A:
        body = entry.a;
        counts = entry.aN;
        rotateSize = 16;
        break;
      case TYPE_AAAA:
        body = entry.aaaa;
        counts = entry.aaaaN;
        rotateSize = 28;
        break;
      case TYPE_SRV:
        body = entry.srv;
        counts = entry.srvN;
        break;
      case TYPE_ANY:
        body = entry.any;
        counts = entry.anyN;
        break;
      case TYPE_NS:
        body = entry.ns;
        counts = entry.nsN;
        break;
      case TYPE_SOA:
        if (zoneStart === 0 && key.length === zone.key.length) {
          const p = startReply(q, out, nameEnd, RCODE_NOERROR, true, 1, 0, edns, ctx.recursion);
          return finish(
            q,
            out,
            nameEnd,
            limit,
            edns,
            ctx,
            dnssecOk,
            writeSoa(out, p, 12, zone.soa, limit),
          );
        }
        break;
    }
  }
  if (body === null) {
    // NXDOMAIN, or NOERROR with no data: the zone's SOA in the authority section (RFC 2308).
    const rcode = entry === undefined ? RCODE_NXDOMAIN : RCODE_NOERROR;
    const p = startReply(q, out, nameEnd, rcode, true, 0, 1, edns, ctx.recursion);
    return finish(
      q,
      out,
      nameEnd,
      limit,
      edns,
      ctx,
      dnssecOk,
      writeSoa(out, p, 12 + zoneStart, zone.soa, limit),
    );
  }
  const an = counts & 0xffff;
  const p = startReply(
    q,
    out,
    nameEnd,
    RCODE_NOERROR,
    true,
    an,
    0,
    (counts >>> 16) + edns,
    ctx.recursion,
  );
  const len = body.length;
  if (p + len + edns * 11 > limit) return truncated(q, out, nameEnd, edns, ctx, dnssecOk);
  if (rotateSize !== 0 && an > 1) {
    // Round robin: start the answer at a different record each time.
    const first = (ctx.rotate++ % an) * rotateSize;
    out.set(body.subarray(first), p);
    out.set(body.subarray(0, first), p + len - first);
  } else {
    out.set(body, p);
  }
  return edns ? writeOpt(out, p + len, ctx.maxUdp, 0, dnssecOk) : p + len;
}

/**
 * After a FORWARD result: a reply with `rcode` (SERVFAIL when forwarding is overloaded, say) for
 * that query, written into `out`. Returns its length.
 */
export function rcodeReply(q: Buffer, out: Buffer, rcode: number, ctx: AnswerContext): number {
  const info = ctx.info;
  const edns = info.optOffset >= 0 ? 1 : 0;
  const p = startReply(q, out, info.questionEnd - 4, rcode, false, 0, 0, edns, ctx.recursion);
  return edns ? writeOpt(out, p, ctx.maxUdp, 0, info.dnssecOk) : p;
}

function formErr(q: Uint8Array, out: Uint8Array, c: Float64Array): number {
  c[MALFORMED]++;
  return bareReply(q, out, RCODE_FORMERR);
}

/** Writes header and question; returns the offset after the question. */
function startReply(
  q: Buffer,
  out: Buffer,
  nameEnd: number,
  rcode: number,
  aa: boolean,
  an: number,
  ns: number,
  ar: number,
  ra: boolean,
): number {
  out[0] = q[0];
  out[1] = q[1];
  out[2] = 0x80 | (aa ? 0x04 : 0) | (q[2] & 0x01); // QR, AA, RD copied
  out[3] = (ra ? 0x80 : 0) | (q[3] & 0x10) | rcode; // RA (forwarding is our recursion), CD copied
  out[4] = 0;
  out[5] = 1;
  out[6] = an >> 8;
  out[7] = an & 0xff;
  out[8] = ns >> 8;
  out[9] = ns & 0xff;
  out[10] = ar >> 8;
  out[11] = ar & 0xff;
  q.copy(out, 12, 12, nameEnd + 4);
  return nameEnd + 4;
}

/** Writes an SOA record owned by the name at `ownerAt`; returns the end offset, or -1 if it does not fit. */
function writeSoa(
  out: Uint8Array,
  p: number,
  ownerAt: number,
  soa: Uint8Array,
  limit: number,
): number {
  if (p + 2 + soa.length > limit) return -1;
  out[p] = 0xc0 | (ownerAt >> 8);
  out[p + 1] = ownerAt & 0xff;
  out.set(soa, p + 2);
  return p + 2 + soa.length;
}

function finish(
  q: Buffer,
  out: Buffer,
  nameEnd: number,
  limit: number,
  edns: number,
  ctx: AnswerContext,
  dnssecOk: boolean,
  end: number,
): number {
  if (end < 0 || end + edns * 11 > limit) return truncated(q, out, nameEnd, edns, ctx, dnssecOk);
  return edns ? writeOpt(out, end, ctx.maxUdp, 0, dnssecOk) : end;
}

/** Header and question with TC set and no records (RFC 2181 9): the client retries over TCP. */
function truncated(
  q: Buffer,
  out: Buffer,
  nameEnd: number,
  edns: number,
  ctx: AnswerContext,
  dnssecOk: boolean,
): number {
  const p = startReply(q, out, nameEnd, RCODE_NOERROR, true, 0, 0, edns, ctx.recursion);
  out[2] |= 0x02;
  return edns ? writeOpt(out, p, ctx.maxUdp, 0, dnssecOk) : p;
}
