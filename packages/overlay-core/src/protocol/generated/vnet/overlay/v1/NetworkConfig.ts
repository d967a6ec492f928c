// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.

import type { OverlayInfo as _vnet_overlay_v1_OverlayInfo, OverlayInfo__Output as _vnet_overlay_v1_OverlayInfo__Output } from '../../../vnet/overlay/v1/OverlayInfo.js';

/**
 * The cluster's network config as the log holds it (DC/OS's NetworkConfig plus overlay_mtu).
 */
export interface NetworkConfig {
  'vtep_subnet'?: (string);
  /**
   * Echoed verbatim, as DC/OS did ("70:B3:D5:00:00:00").
   */
  'vtep_mac_oui'?: (string);
  'overlays'?: (_vnet_overlay_v1_OverlayInfo)[];
  'vtep_subnet6'?: (string);
  'vtep_mtu'?: (number);
  /**
   * MTU of bridges and containers; not part of DC/OS's NetworkConfig message.
   */
  'overlay_mtu'?: (number);
  '_vtep_subnet6'?: "vtep_subnet6";
  '_vtep_mtu'?: "vtep_mtu";
}

/**
 * The cluster's network config as the log holds it (DC/OS's NetworkConfig plus overlay_mtu).
 */
export interface NetworkConfig__Output {
  'vtep_subnet'?: (string);
  /**
   * Echoed verbatim, as DC/OS did ("70:B3:D5:00:00:00").
   */
  'vtep_mac_oui'?: (string);
  'overlays'?: (_vnet_overlay_v1_OverlayInfo__Output)[];
  'vtep_subnet6'?: (string);
  'vtep_mtu'?: (number);
  /**
   * MTU of bridges and containers; not part of DC/OS's NetworkConfig message.
   */
  'overlay_mtu'?: (number);
}
