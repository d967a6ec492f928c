// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.


/**
 * One overlay of the network config (the operator's `overlays` entry).
 */
export interface OverlayInfo {
  /**
   * 1-13 characters; the bridges are `m-<name>` and `d-<name>` (Linux allows 15).
   */
  'name'?: (string);
  /**
   * IPv4 network the overlay's node blocks are cut from.
   */
  'subnet'?: (string);
  /**
   * Length of the IPv4 block each node gets.
   */
  'prefix'?: (number);
  'subnet6'?: (string);
  'prefix6'?: (number);
  /**
   * Absent means enabled; kept absent so the state echoes the operator's block.
   */
  'enabled'?: (boolean);
  /**
   * vnet's own (not in DC/OS): absent means true: forwarded traffic between this overlay and
   * another isolated overlay is dropped; false lets it exchange traffic with every overlay.
   */
  'isolated'?: (boolean);
  '_subnet'?: "subnet";
  '_prefix'?: "prefix";
  '_subnet6'?: "subnet6";
  '_prefix6'?: "prefix6";
  '_enabled'?: "enabled";
  '_isolated'?: "isolated";
}

/**
 * One overlay of the network config (the operator's `overlays` entry).
 */
export interface OverlayInfo__Output {
  /**
   * 1-13 characters; the bridges are `m-<name>` and `d-<name>` (Linux allows 15).
   */
  'name'?: (string);
  /**
   * IPv4 network the overlay's node blocks are cut from.
   */
  'subnet'?: (string);
  /**
   * Length of the IPv4 block each node gets.
   */
  'prefix'?: (number);
  'subnet6'?: (string);
  'prefix6'?: (number);
  /**
   * Absent means enabled; kept absent so the state echoes the operator's block.
   */
  'enabled'?: (boolean);
  /**
   * vnet's own (not in DC/OS): absent means true: forwarded traffic between this overlay and
   * another isolated overlay is dropped; false lets it exchange traffic with every overlay.
   */
  'isolated'?: (boolean);
}
