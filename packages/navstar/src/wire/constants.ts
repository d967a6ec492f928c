// DNS wire constants (RFC 1035, 3596, 2782, 6891).

export const TYPE_A = 1;
export const TYPE_NS = 2;
export const TYPE_SOA = 6;
export const TYPE_AAAA = 28;
export const TYPE_SRV = 33;
export const TYPE_OPT = 41;
export const TYPE_IXFR = 251;
export const TYPE_AXFR = 252;
export const TYPE_ANY = 255;

export const CLASS_IN = 1;
export const CLASS_ANY = 255;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;
/** Extended RCODE 16: upper 8 bits (1) go in the OPT TTL, lower 4 bits (0) in the header. */
export const RCODE_BADVERS = 16;

/** Largest DNS message over UDP without EDNS (RFC 1035 section 4.2.1). */
export const CLASSIC_UDP_SIZE = 512;
/** Largest wire name (RFC 1035 section 2.3.4). */
export const MAX_NAME = 255;
