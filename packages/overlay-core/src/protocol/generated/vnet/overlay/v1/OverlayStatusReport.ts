// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.

import type { Status as _vnet_overlay_v1_Status, Status__Output as _vnet_overlay_v1_Status__Output } from '../../../vnet/overlay/v1/Status.js';
import type { AddressUsage as _vnet_overlay_v1_AddressUsage, AddressUsage__Output as _vnet_overlay_v1_AddressUsage__Output } from '../../../vnet/overlay/v1/AddressUsage.js';

export interface OverlayStatusReport {
  'name'?: (string);
  'status'?: (_vnet_overlay_v1_Status);
  'error'?: (string);
  /**
   * Container addresses in use in the node's halves of its block.
   */
  'used'?: (_vnet_overlay_v1_AddressUsage | null);
  '_error'?: "error";
}

export interface OverlayStatusReport__Output {
  'name'?: (string);
  'status'?: (_vnet_overlay_v1_Status__Output);
  'error'?: (string);
  /**
   * Container addresses in use in the node's halves of its block.
   */
  'used'?: (_vnet_overlay_v1_AddressUsage__Output);
}
