// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.


export interface RegisterRequest {
  /**
   * The node's underlay IPv4 address: its identity.
   */
  'ip'?: (string);
  /**
   * False on masters (vnet agent --no-bridges): a VTEP and a subnet per overlay, no bridges.
   */
  'bridges'?: (boolean);
}

export interface RegisterRequest__Output {
  /**
   * The node's underlay IPv4 address: its identity.
   */
  'ip'?: (string);
  /**
   * False on masters (vnet agent --no-bridges): a VTEP and a subnet per overlay, no bridges.
   */
  'bridges'?: (boolean);
}
