// What the answer path looks up: for every name that exists in a zone, the answer sections for each
// query type, pre-encoded for that name. Answer owners are the compression pointer 0xC00C (the
// question name), so a precomputed section is valid for any query for the name, whatever its
// letter case. Entries are plain objects of Uint8Arrays so they cross worker boundaries by
// structured clone.

export interface NameEntry {
  /** A records (16 bytes each, rotatable), or null. */
  a: Uint8Array | null;
  aN: number;
  /** AAAA records (28 bytes each, rotatable), or null. */
  aaaa: Uint8Array | null;
  aaaaN: number;
  /** SRV records followed by glue A/AAAA for their targets, or null. */
  srv: Uint8Array | null;
  /** Answer count in the low 16 bits, additional (glue) count in the high bits. */
  srvN: number;
  /** Every record at the name (for ANY), or null. */
  any: Uint8Array | null;
  anyN: number;
  /** NS at a zone apex, or null. */
  ns: Uint8Array | null;
  nsN: number;
}

export function emptyEntry(): NameEntry {
  return {
    a: null,
    aN: 0,
    aaaa: null,
    aaaaN: 0,
    srv: null,
    srvN: 0,
    any: null,
    anyN: 0,
    ns: null,
    nsN: 0,
  };
}

/** A zone as the answer path needs it: its key and its SOA record minus the owner name. */
export interface ZoneWire {
  key: string;
  soa: Uint8Array;
}

/** Changes to a table, in the order they must be applied. */
export interface ZoneDelta {
  set: Array<[string, NameEntry]>;
  del: string[];
  /** New SOA records per zone (same order as the zones), when the serial changed. */
  zones?: ZoneWire[];
}

export function applyDelta(table: Map<string, NameEntry>, delta: ZoneDelta): void {
  for (const k of delta.del) table.delete(k);
  for (const [k, e] of delta.set) table.set(k, e);
}
