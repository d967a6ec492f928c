// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.

import type { OverlayStatusReport as _vnet_overlay_v1_OverlayStatusReport, OverlayStatusReport__Output as _vnet_overlay_v1_OverlayStatusReport__Output } from '../../../vnet/overlay/v1/OverlayStatusReport.js';

export interface StatusReport {
  'ip'?: (string);
  'overlays'?: (_vnet_overlay_v1_OverlayStatusReport)[];
}

export interface StatusReport__Output {
  'ip'?: (string);
  'overlays'?: (_vnet_overlay_v1_OverlayStatusReport__Output)[];
}
