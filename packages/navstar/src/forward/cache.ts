// Cache of forwarded answers. Entries keep the upstream message (minus its OPT record) as bytes,
// with the offsets of every TTL, so serving a hit is a copy plus in-place re-aging: TTLs count down
// from when the answer was received and the entry leaves the cache when the smallest reaches 0.
// Negative answers live for min(SOA TTL, SOA MINIMUM) (RFC 2308); answers without a usable TTL are
// not cached. Pure: the clock is injected.
import { RCODE_NOERROR, RCODE_NXDOMAIN } from '../wire/constants.js';
import { type ParsedMessage, soaMinimum } from '../wire/message.js';

export interface CacheOptions {
  /** Most entries kept; the least recently used goes first. Default 10,000. */
  maxEntries?: number;
  /** Cap on positive TTLs, seconds. Default 3600. */
  maxTtl?: number;
  /** Cap on negative TTLs, seconds. Default 300. */
  maxNegativeTtl?: number;
}

/** An upstream answer ready to be sent again: OPT removed, TTLs locatable. */
export interface StoredAnswer {
  /** Header, question and records, without an OPT record (ARCOUNT adjusted). */
  bytes: Uint8Array;
  ttlOffsets: number[];
  ttls: number[];
  /** When it was received (ms). */
  receivedAt: number;
  /** Seconds it may be cached (0: not cacheable). */
  ttl: number;
}

/**
 * The answer without its OPT record, or undefined when the OPT cannot be cut out cleanly (it is
 * not the last record). `cacheable` tells whether the answer may be cached at all.
 */
export function storeAnswer(
  msg: Uint8Array,
  m: ParsedMessage,
  now: number,
  opts: Required<CacheOptions>,
): StoredAnswer | undefined {
  let bytes: Uint8Array = msg;
  if (m.opt) {
    if (m.opt.end !== msg.length - m.trailing) return undefined;
    bytes = Uint8Array.from(msg.subarray(0, m.opt.offset));
    const ar = ((bytes[10] << 8) | bytes[11]) - 1;
    bytes[10] = ar >> 8;
    bytes[11] = ar & 0xff;
  } else {
    bytes = Uint8Array.from(msg.subarray(0, msg.length - m.trailing));
  }
  const records = [...m.answers, ...m.authority, ...m.additional];
  const ttlOffsets = records.map((r) => r.ttlOffset);
  const ttls = records.map((r) => r.ttl);
  let ttl = 0;
  if (!m.tc && (m.rcode === RCODE_NOERROR || m.rcode === RCODE_NXDOMAIN)) {
    if (m.rcode === RCODE_NOERROR && m.answers.length > 0) {
      ttl = Math.min(opts.maxTtl, ...ttls);
    } else {
      const soa = m.authority.find((r) => soaMinimum(msg, r) !== undefined);
      if (soa) ttl = Math.min(opts.maxNegativeTtl, soa.ttl, soaMinimum(msg, soa) as number);
    }
  }
  return { bytes, ttlOffsets, ttls, receivedAt: now, ttl: Math.max(0, ttl) };
}

export class ResponseCache {
  private readonly entries = new Map<string, StoredAnswer>();
  readonly options: Required<CacheOptions>;

  constructor(
    opts: CacheOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = {
      maxEntries: opts.maxEntries ?? 10_000,
      maxTtl: opts.maxTtl ?? 3600,
      maxNegativeTtl: opts.maxNegativeTtl ?? 300,
    };
  }

  get size(): number {
    return this.entries.size;
  }

  /** A live entry and its age in whole seconds, or undefined (expired entries are removed). */
  get(key: string): { answer: StoredAnswer; age: number } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const age = Math.floor((this.now() - e.receivedAt) / 1000);
    if (age >= e.ttl) {
      this.entries.delete(key);
      return undefined;
    }
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, e);
    return { answer: e, age };
  }

  set(key: string, answer: StoredAnswer): void {
    if (answer.ttl <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, answer);
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
