// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.

import type { Status as _vnet_overlay_v1_Status, Status__Output as _vnet_overlay_v1_Status__Output } from '../../../vnet/overlay/v1/Status.js';

export interface OverlayState {
  'status'?: (_vnet_overlay_v1_Status);
  'error'?: (string);
  '_error'?: "error";
}

export interface OverlayState__Output {
  'status'?: (_vnet_overlay_v1_Status__Output);
  'error'?: (string);
}
