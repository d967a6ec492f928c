// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.

import type { VxLANInfo as _vnet_overlay_v1_VxLANInfo, VxLANInfo__Output as _vnet_overlay_v1_VxLANInfo__Output } from '../../../vnet/overlay/v1/VxLANInfo.js';

export interface BackendInfo {
  'vxlan'?: (_vnet_overlay_v1_VxLANInfo | null);
}

export interface BackendInfo__Output {
  'vxlan'?: (_vnet_overlay_v1_VxLANInfo__Output);
}
