// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Allocation as _vnet_overlay_v1_Allocation, Allocation__Output as _vnet_overlay_v1_Allocation__Output } from '../../../vnet/overlay/v1/Allocation.js';
import type { Masters as _vnet_overlay_v1_Masters, Masters__Output as _vnet_overlay_v1_Masters__Output } from '../../../vnet/overlay/v1/Masters.js';
import type { MastersRequest as _vnet_overlay_v1_MastersRequest, MastersRequest__Output as _vnet_overlay_v1_MastersRequest__Output } from '../../../vnet/overlay/v1/MastersRequest.js';
import type { RegisterRequest as _vnet_overlay_v1_RegisterRequest, RegisterRequest__Output as _vnet_overlay_v1_RegisterRequest__Output } from '../../../vnet/overlay/v1/RegisterRequest.js';
import type { StatusReply as _vnet_overlay_v1_StatusReply, StatusReply__Output as _vnet_overlay_v1_StatusReply__Output } from '../../../vnet/overlay/v1/StatusReply.js';
import type { StatusReport as _vnet_overlay_v1_StatusReport, StatusReport__Output as _vnet_overlay_v1_StatusReport__Output } from '../../../vnet/overlay/v1/StatusReport.js';
import type { WatchRequest as _vnet_overlay_v1_WatchRequest, WatchRequest__Output as _vnet_overlay_v1_WatchRequest__Output } from '../../../vnet/overlay/v1/WatchRequest.js';

export interface OverlayMasterClient extends grpc.Client {
  /**
   * Registers (or re-registers) a node: a known IP gets its allocation back.
   */
  Register(argument: _vnet_overlay_v1_RegisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vnet_overlay_v1_Allocation__Output>): grpc.ClientUnaryCall;
  Register(argument: _vnet_overlay_v1_RegisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vnet_overlay_v1_Allocation__Output>): grpc.ClientUnaryCall;
  Register(argument: _vnet_overlay_v1_RegisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vnet_overlay_v1_Allocation__Output>): grpc.ClientUnaryCall;
  Register(argument: _vnet_overlay_v1_RegisterRequest, callback: grpc.requestCallback<_vnet_overlay_v1_Allocation__Output>): grpc.ClientUnaryCall;
  /**
   * Registers (or re-registers) a node: a known IP gets its allocation back.
   */
  register(argument: _vnet_overlay_v1_RegisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vnet_overlay_v1_Allocation__Output>): grpc.ClientUnaryCall;
  register(argument: _vnet_overlay_v1_RegisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_vnet_overlay_v1_Allocation__Output>): grpc.ClientUnaryCall;
  register(argument: _vnet_overlay_v1_RegisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_vnet_overlay_v1_Allocation__Output>): grpc.ClientUnaryCall;
  register(argument: _vnet_overlay_v1_RegisterRequest, callback: grpc.requestCallback<_vnet_overlay_v1_Allocation__Output>): grpc.ClientUnaryCall;
  
  ReportStatus(argument: _vnet_overlay_v1_StatusReport, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vnet_overlay_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  ReportStatus(argument: _vnet_overlay_v1_StatusReport, metadata: grpc.Metadata, callback: grpc.requestCallback<_vnet_overlay_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  ReportStatus(argument: _vnet_overlay_v1_StatusReport, options: grpc.CallOptions, callback: grpc.requestCallback<_vnet_overlay_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  ReportStatus(argument: _vnet_overlay_v1_StatusReport, callback: grpc.requestCallback<_vnet_overlay_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  reportStatus(argument: _vnet_overlay_v1_StatusReport, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_vnet_overlay_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  reportStatus(argument: _vnet_overlay_v1_StatusReport, metadata: grpc.Metadata, callback: grpc.requestCallback<_vnet_overlay_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  reportStatus(argument: _vnet_overlay_v1_StatusReport, options: grpc.CallOptions, callback: grpc.requestCallback<_vnet_overlay_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  reportStatus(argument: _vnet_overlay_v1_StatusReport, callback: grpc.requestCallback<_vnet_overlay_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Pushes the node's allocation whenever it changes (overlay added, enabled, disabled, removed,
   * MTU changed, node deleted), so nodes need no restart.
   */
  Watch(argument: _vnet_overlay_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_vnet_overlay_v1_Allocation__Output>;
  Watch(argument: _vnet_overlay_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_vnet_overlay_v1_Allocation__Output>;
  /**
   * Pushes the node's allocation whenever it changes (overlay added, enabled, disabled, removed,
   * MTU changed, node deleted), so nodes need no restart.
   */
  watch(argument: _vnet_overlay_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_vnet_overlay_v1_Allocation__Output>;
  watch(argument: _vnet_overlay_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_vnet_overlay_v1_Allocation__Output>;
  
  /**
   * Pushes the masters and the leader now and whenever they change.
   */
  WatchMasters(argument: _vnet_overlay_v1_MastersRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_vnet_overlay_v1_Masters__Output>;
  WatchMasters(argument: _vnet_overlay_v1_MastersRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_vnet_overlay_v1_Masters__Output>;
  /**
   * Pushes the masters and the leader now and whenever they change.
   */
  watchMasters(argument: _vnet_overlay_v1_MastersRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_vnet_overlay_v1_Masters__Output>;
  watchMasters(argument: _vnet_overlay_v1_MastersRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_vnet_overlay_v1_Masters__Output>;
  
}

export interface OverlayMasterHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Registers (or re-registers) a node: a known IP gets its allocation back.
   */
  Register: grpc.handleUnaryCall<_vnet_overlay_v1_RegisterRequest__Output, _vnet_overlay_v1_Allocation>;
  
  ReportStatus: grpc.handleUnaryCall<_vnet_overlay_v1_StatusReport__Output, _vnet_overlay_v1_StatusReply>;
  
  /**
   * Pushes the node's allocation whenever it changes (overlay added, enabled, disabled, removed,
   * MTU changed, node deleted), so nodes need no restart.
   */
  Watch: grpc.handleServerStreamingCall<_vnet_overlay_v1_WatchRequest__Output, _vnet_overlay_v1_Allocation>;
  
  /**
   * Pushes the masters and the leader now and whenever they change.
   */
  WatchMasters: grpc.handleServerStreamingCall<_vnet_overlay_v1_MastersRequest__Output, _vnet_overlay_v1_Masters>;
  
}

export interface OverlayMasterDefinition extends grpc.ServiceDefinition {
  Register: MethodDefinition<_vnet_overlay_v1_RegisterRequest, _vnet_overlay_v1_Allocation, _vnet_overlay_v1_RegisterRequest__Output, _vnet_overlay_v1_Allocation__Output>
  ReportStatus: MethodDefinition<_vnet_overlay_v1_StatusReport, _vnet_overlay_v1_StatusReply, _vnet_overlay_v1_StatusReport__Output, _vnet_overlay_v1_StatusReply__Output>
  Watch: MethodDefinition<_vnet_overlay_v1_WatchRequest, _vnet_overlay_v1_Allocation, _vnet_overlay_v1_WatchRequest__Output, _vnet_overlay_v1_Allocation__Output>
  WatchMasters: MethodDefinition<_vnet_overlay_v1_MastersRequest, _vnet_overlay_v1_Masters, _vnet_overlay_v1_MastersRequest__Output, _vnet_overlay_v1_Masters__Output>
}
