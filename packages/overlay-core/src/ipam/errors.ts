// Typed allocation failures: each names what ran out or what was wrong, so the master can log it,
// count it and show it in the state API, and the node can report it.

export type AllocationErrorCode =
  | 'OVERLAY_EXHAUSTED'
  | 'VTEP_EXHAUSTED'
  | 'INVALID_NODE_IP'
  | 'UNKNOWN_OVERLAY'
  | 'INVALID_CONFIG';

export class AllocationError extends Error {
  constructor(
    readonly code: AllocationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AllocationError';
  }
}

/** No free node block left in an overlay (one address family of it). */
export class OverlayExhaustedError extends AllocationError {
  constructor(
    readonly overlay: string,
    readonly subnet: string,
    readonly prefix: number,
    readonly blocks: bigint,
  ) {
    super(
      'OVERLAY_EXHAUSTED',
      `no free subnets in the ${overlay} overlay: all ${blocks} /${prefix} blocks of ${subnet} are allocated`,
    );
    this.name = 'OverlayExhaustedError';
  }
}

/** No free address left in vtep_subnet (or vtep_subnet6). */
export class VtepExhaustedError extends AllocationError {
  constructor(
    readonly field: 'vtep_subnet' | 'vtep_subnet6',
    readonly subnet: string,
    readonly addresses: bigint,
  ) {
    super(
      'VTEP_EXHAUSTED',
      `no free VTEP IP: all ${addresses} addresses of ${field} ${subnet} are allocated`,
    );
    this.name = 'VtepExhaustedError';
  }
}
