// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.

import type { AgentOverlayInfo as _vnet_overlay_v1_AgentOverlayInfo, AgentOverlayInfo__Output as _vnet_overlay_v1_AgentOverlayInfo__Output } from '../../../vnet/overlay/v1/AgentOverlayInfo.js';

export interface AgentInfo {
  'ip'?: (string);
  'overlays'?: (_vnet_overlay_v1_AgentOverlayInfo)[];
  'configuration_attempts'?: (number);
  '_configuration_attempts'?: "configuration_attempts";
}

export interface AgentInfo__Output {
  'ip'?: (string);
  'overlays'?: (_vnet_overlay_v1_AgentOverlayInfo__Output)[];
  'configuration_attempts'?: (number);
}
