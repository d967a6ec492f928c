// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.
import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AddressUsage as _vnet_overlay_v1_AddressUsage, AddressUsage__Output as _vnet_overlay_v1_AddressUsage__Output } from './vnet/overlay/v1/AddressUsage.js';
import type { AgentInfo as _vnet_overlay_v1_AgentInfo, AgentInfo__Output as _vnet_overlay_v1_AgentInfo__Output } from './vnet/overlay/v1/AgentInfo.js';
import type { AgentOverlayInfo as _vnet_overlay_v1_AgentOverlayInfo, AgentOverlayInfo__Output as _vnet_overlay_v1_AgentOverlayInfo__Output } from './vnet/overlay/v1/AgentOverlayInfo.js';
import type { Allocation as _vnet_overlay_v1_Allocation, Allocation__Output as _vnet_overlay_v1_Allocation__Output } from './vnet/overlay/v1/Allocation.js';
import type { BackendInfo as _vnet_overlay_v1_BackendInfo, BackendInfo__Output as _vnet_overlay_v1_BackendInfo__Output } from './vnet/overlay/v1/BackendInfo.js';
import type { BridgeInfo as _vnet_overlay_v1_BridgeInfo, BridgeInfo__Output as _vnet_overlay_v1_BridgeInfo__Output } from './vnet/overlay/v1/BridgeInfo.js';
import type { Masters as _vnet_overlay_v1_Masters, Masters__Output as _vnet_overlay_v1_Masters__Output } from './vnet/overlay/v1/Masters.js';
import type { MastersRequest as _vnet_overlay_v1_MastersRequest, MastersRequest__Output as _vnet_overlay_v1_MastersRequest__Output } from './vnet/overlay/v1/MastersRequest.js';
import type { NetworkConfig as _vnet_overlay_v1_NetworkConfig, NetworkConfig__Output as _vnet_overlay_v1_NetworkConfig__Output } from './vnet/overlay/v1/NetworkConfig.js';
import type { OverlayInfo as _vnet_overlay_v1_OverlayInfo, OverlayInfo__Output as _vnet_overlay_v1_OverlayInfo__Output } from './vnet/overlay/v1/OverlayInfo.js';
import type { OverlayMasterClient as _vnet_overlay_v1_OverlayMasterClient, OverlayMasterDefinition as _vnet_overlay_v1_OverlayMasterDefinition } from './vnet/overlay/v1/OverlayMaster.js';
import type { OverlayState as _vnet_overlay_v1_OverlayState, OverlayState__Output as _vnet_overlay_v1_OverlayState__Output } from './vnet/overlay/v1/OverlayState.js';
import type { OverlayStatusReport as _vnet_overlay_v1_OverlayStatusReport, OverlayStatusReport__Output as _vnet_overlay_v1_OverlayStatusReport__Output } from './vnet/overlay/v1/OverlayStatusReport.js';
import type { RegisterRequest as _vnet_overlay_v1_RegisterRequest, RegisterRequest__Output as _vnet_overlay_v1_RegisterRequest__Output } from './vnet/overlay/v1/RegisterRequest.js';
import type { StatusReply as _vnet_overlay_v1_StatusReply, StatusReply__Output as _vnet_overlay_v1_StatusReply__Output } from './vnet/overlay/v1/StatusReply.js';
import type { StatusReport as _vnet_overlay_v1_StatusReport, StatusReport__Output as _vnet_overlay_v1_StatusReport__Output } from './vnet/overlay/v1/StatusReport.js';
import type { VxLANInfo as _vnet_overlay_v1_VxLANInfo, VxLANInfo__Output as _vnet_overlay_v1_VxLANInfo__Output } from './vnet/overlay/v1/VxLANInfo.js';
import type { WatchRequest as _vnet_overlay_v1_WatchRequest, WatchRequest__Output as _vnet_overlay_v1_WatchRequest__Output } from './vnet/overlay/v1/WatchRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  vnet: {
    overlay: {
      v1: {
        AddressUsage: MessageTypeDefinition<_vnet_overlay_v1_AddressUsage, _vnet_overlay_v1_AddressUsage__Output>
        AgentInfo: MessageTypeDefinition<_vnet_overlay_v1_AgentInfo, _vnet_overlay_v1_AgentInfo__Output>
        AgentOverlayInfo: MessageTypeDefinition<_vnet_overlay_v1_AgentOverlayInfo, _vnet_overlay_v1_AgentOverlayInfo__Output>
        Allocation: MessageTypeDefinition<_vnet_overlay_v1_Allocation, _vnet_overlay_v1_Allocation__Output>
        BackendInfo: MessageTypeDefinition<_vnet_overlay_v1_BackendInfo, _vnet_overlay_v1_BackendInfo__Output>
        BridgeInfo: MessageTypeDefinition<_vnet_overlay_v1_BridgeInfo, _vnet_overlay_v1_BridgeInfo__Output>
        Masters: MessageTypeDefinition<_vnet_overlay_v1_Masters, _vnet_overlay_v1_Masters__Output>
        MastersRequest: MessageTypeDefinition<_vnet_overlay_v1_MastersRequest, _vnet_overlay_v1_MastersRequest__Output>
        NetworkConfig: MessageTypeDefinition<_vnet_overlay_v1_NetworkConfig, _vnet_overlay_v1_NetworkConfig__Output>
        OverlayInfo: MessageTypeDefinition<_vnet_overlay_v1_OverlayInfo, _vnet_overlay_v1_OverlayInfo__Output>
        OverlayMaster: SubtypeConstructor<typeof grpc.Client, _vnet_overlay_v1_OverlayMasterClient> & { service: _vnet_overlay_v1_OverlayMasterDefinition }
        OverlayState: MessageTypeDefinition<_vnet_overlay_v1_OverlayState, _vnet_overlay_v1_OverlayState__Output>
        OverlayStatusReport: MessageTypeDefinition<_vnet_overlay_v1_OverlayStatusReport, _vnet_overlay_v1_OverlayStatusReport__Output>
        RegisterRequest: MessageTypeDefinition<_vnet_overlay_v1_RegisterRequest, _vnet_overlay_v1_RegisterRequest__Output>
        Status: EnumTypeDefinition
        StatusReply: MessageTypeDefinition<_vnet_overlay_v1_StatusReply, _vnet_overlay_v1_StatusReply__Output>
        StatusReport: MessageTypeDefinition<_vnet_overlay_v1_StatusReport, _vnet_overlay_v1_StatusReport__Output>
        VxLANInfo: MessageTypeDefinition<_vnet_overlay_v1_VxLANInfo, _vnet_overlay_v1_VxLANInfo__Output>
        WatchRequest: MessageTypeDefinition<_vnet_overlay_v1_WatchRequest, _vnet_overlay_v1_WatchRequest__Output>
      }
    }
  }
}

