// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.

import type { OverlayInfo as _vnet_overlay_v1_OverlayInfo, OverlayInfo__Output as _vnet_overlay_v1_OverlayInfo__Output } from '../../../vnet/overlay/v1/OverlayInfo.js';
import type { BridgeInfo as _vnet_overlay_v1_BridgeInfo, BridgeInfo__Output as _vnet_overlay_v1_BridgeInfo__Output } from '../../../vnet/overlay/v1/BridgeInfo.js';
import type { BackendInfo as _vnet_overlay_v1_BackendInfo, BackendInfo__Output as _vnet_overlay_v1_BackendInfo__Output } from '../../../vnet/overlay/v1/BackendInfo.js';
import type { OverlayState as _vnet_overlay_v1_OverlayState, OverlayState__Output as _vnet_overlay_v1_OverlayState__Output } from '../../../vnet/overlay/v1/OverlayState.js';

export interface AgentOverlayInfo {
  'info'?: (_vnet_overlay_v1_OverlayInfo | null);
  'subnet'?: (string);
  'mesos_bridge'?: (_vnet_overlay_v1_BridgeInfo | null);
  'docker_bridge'?: (_vnet_overlay_v1_BridgeInfo | null);
  'backend'?: (_vnet_overlay_v1_BackendInfo | null);
  'state'?: (_vnet_overlay_v1_OverlayState | null);
  'subnet6'?: (string);
  '_subnet'?: "subnet";
  '_subnet6'?: "subnet6";
}

export interface AgentOverlayInfo__Output {
  'info'?: (_vnet_overlay_v1_OverlayInfo__Output);
  'subnet'?: (string);
  'mesos_bridge'?: (_vnet_overlay_v1_BridgeInfo__Output);
  'docker_bridge'?: (_vnet_overlay_v1_BridgeInfo__Output);
  'backend'?: (_vnet_overlay_v1_BackendInfo__Output);
  'state'?: (_vnet_overlay_v1_OverlayState__Output);
  'subnet6'?: (string);
}
