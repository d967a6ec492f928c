// Canonical address text, the form to compare addresses by as strings. IPv6 results are cached:
// callers such as a data-plane reconciler canonicalize the same few thousand peer addresses on
// every pass.
import { scanIpv4 } from './ipv4.js';
import { formatIpv6, parseIpv6 } from './ipv6.js';

/**
 * A string -> result map holding at most 2 x `generation` entries: when the current generation
 * is full it becomes the old one (the previous old one is dropped); a hit in the old generation
 * is carried into the current one. Entries in use survive, and memory stays bounded.
 */
export class BoundedCache<V> {
  private current = new Map<string, V>();
  private old = new Map<string, V>();

  constructor(private readonly generation: number) {}

  get size(): number {
    return this.current.size + this.old.size;
  }

  /** The cached result for `key`, computing and keeping it when absent. */
  get(key: string, compute: (key: string) => V): V {
    const hit = this.current.get(key);
    if (hit !== undefined || this.current.has(key)) return hit as V;
    const value = this.old.has(key) ? (this.old.get(key) as V) : compute(key);
    if (this.current.size >= this.generation) {
      this.old = this.current;
      this.current = new Map();
    }
    this.current.set(key, value);
    return value;
  }
}

const ipv6Texts = new BoundedCache<string | undefined>(32_768);

function canonicalIpv6(text: string): string | undefined {
  const v = parseIpv6(text);
  return v === undefined ? undefined : formatIpv6(v);
}

/**
 * The canonical text of an IPv4 or IPv6 address (inet_ntop's, see formatIpv6), or undefined when
 * `text` is neither. IPv6 results come from a bounded cache (at most 65,536 texts).
 */
export function canonicalIp(text: string): string | undefined {
  if (!text.includes(':')) return scanIpv4(text, 0, text.length) < 0 ? undefined : text;
  return ipv6Texts.get(text, canonicalIpv6);
}
