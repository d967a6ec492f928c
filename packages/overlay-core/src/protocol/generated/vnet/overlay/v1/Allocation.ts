// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.

import type { AgentInfo as _vnet_overlay_v1_AgentInfo, AgentInfo__Output as _vnet_overlay_v1_AgentInfo__Output } from '../../../vnet/overlay/v1/AgentInfo.js';
import type { NetworkConfig as _vnet_overlay_v1_NetworkConfig, NetworkConfig__Output as _vnet_overlay_v1_NetworkConfig__Output } from '../../../vnet/overlay/v1/NetworkConfig.js';
import type { Long } from '@grpc/proto-loader';

/**
 * A node's allocation: Register's answer, and what Watch streams (the current allocation when
 * the stream opens, then one message per change).
 */
export interface Allocation {
  'agent'?: (_vnet_overlay_v1_AgentInfo | null);
  'network'?: (_vnet_overlay_v1_NetworkConfig | null);
  /**
   * The node was deleted from the master (POST /overlay-master/agents/delete): register again.
   */
  'deleted'?: (boolean);
  /**
   * Index of the overlay replicated log this view reflects.
   */
  'index'?: (number | string | Long);
}

/**
 * A node's allocation: Register's answer, and what Watch streams (the current allocation when
 * the stream opens, then one message per change).
 */
export interface Allocation__Output {
  'agent'?: (_vnet_overlay_v1_AgentInfo__Output);
  'network'?: (_vnet_overlay_v1_NetworkConfig__Output);
  /**
   * The node was deleted from the master (POST /overlay-master/agents/delete): register again.
   */
  'deleted'?: (boolean);
  /**
   * Index of the overlay replicated log this view reflects.
   */
  'index'?: (number);
}
