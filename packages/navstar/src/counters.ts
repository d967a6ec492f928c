// Counter slots shared by the answer path, the transports and the forwarder. Each thread owns a
// Float64Array of COUNTER_COUNT slots (in a SharedArrayBuffer for UDP worker threads) and is its
// only writer; Metrics sums them.

export const Q_UDP = 0;
export const Q_TCP = 1;
/** Responses by RCODE: NOERROR .. REFUSED, then every other code. */
export const R_BASE = 2;
export const R_OTHER = 8;
/** Queries answered from the zones. */
export const AUTHORITATIVE = 9;
/** Queries handed to forwarding. */
export const FORWARDED = 10;
/** Packets that got no response (too short, a response, oversized datagram). */
export const DROPPED = 11;
/** Packets that were dropped or answered FORMERR because they were malformed. */
export const MALFORMED = 12;
/** Responses sent with the TC bit. */
export const TRUNCATED = 13;
export const CACHE_HITS = 14;
export const CACHE_MISSES = 15;
/** Queries sent to upstream resolvers, their timeouts and their errors (bad or failed answers). */
export const UPSTREAM_QUERIES = 16;
export const UPSTREAM_TIMEOUTS = 17;
export const UPSTREAM_ERRORS = 18;
/** Forwarded queries that got SERVFAIL because no upstream gave a good answer in time. */
export const FORWARD_FAILURES = 19;
export const SEND_ERRORS = 20;
/** Exceptions caught on the packet path (each one is a bug; the packet is dropped). */
export const INTERNAL_ERRORS = 21;
export const TCP_CONNECTIONS = 22;
/** Forwarded queries refused because too many were already in flight. */
export const FORWARD_OVERLOAD = 23;
export const COUNTER_COUNT = 24;

/** Counts one response by its RCODE and TC bit. */
export function countResponse(c: Float64Array, msg: Uint8Array): void {
  const rcode = msg[3] & 0x0f;
  c[rcode <= 5 ? R_BASE + rcode : R_OTHER]++;
  if (msg[2] & 0x02) c[TRUNCATED]++;
}
