// Input from outside (a request body, a log entry, a gossip record, a flag): the shape check and
// the bounded quoting every edge uses. An error must never echo a whole input (a 100 kB node IP
// in a gRPC status no longer fit gRPC's metadata limit, the client saw DEADLINE_EXCEEDED, and
// valid calls on the same connection stalled for seconds).

/** A plain object (not null, an array or bytes). */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** How much of an input a message quotes. */
export const QUOTE_MAX = 64;

/** At most `max` characters of `text`, with an ellipsis when it was cut. */
export const cut = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max)}…`;

/** `v` as JSON, at most `max` characters of it, with the full length when it was cut. */
export function quote(v: unknown, max = QUOTE_MAX): string {
  const text = typeof v === 'string' ? v : v === undefined ? 'undefined' : safeJson(v);
  if (text.length <= max) return typeof v === 'string' ? JSON.stringify(text) : text;
  const head = typeof v === 'string' ? JSON.stringify(text.slice(0, max)) : text.slice(0, max);
  return `${head}… (${text.length} characters)`;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
