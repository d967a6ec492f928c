// The node API (proto/overlay.proto): the OverlayMaster service, loaded at run time with
// @grpc/proto-loader, and its message types, generated from the .proto with the same options
// (scripts/gen-proto.mjs). Messages are plain objects with the .proto's own field names; enums
// travel as their names, so an AgentInfo message is exactly the seed's JSON shape. A type `X` is
// what a sender may write, `X__Output` what a receiver gets (every field optional: check it).
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/overlay.js';
import type { OverlayMasterClient } from './generated/vnet/overlay/v1/OverlayMaster.js';

export type { AgentInfo, AgentInfo__Output } from './generated/vnet/overlay/v1/AgentInfo.js';
export type {
  AgentOverlayInfo,
  AgentOverlayInfo__Output,
} from './generated/vnet/overlay/v1/AgentOverlayInfo.js';
export type { Allocation, Allocation__Output } from './generated/vnet/overlay/v1/Allocation.js';
export type { BridgeInfo__Output } from './generated/vnet/overlay/v1/BridgeInfo.js';
export type { Masters, Masters__Output } from './generated/vnet/overlay/v1/Masters.js';
export type {
  NetworkConfig as NetworkMessage,
  NetworkConfig__Output as NetworkMessage__Output,
} from './generated/vnet/overlay/v1/NetworkConfig.js';
export type { OverlayInfo, OverlayInfo__Output } from './generated/vnet/overlay/v1/OverlayInfo.js';
export type {
  OverlayMasterClient,
  OverlayMasterDefinition,
  OverlayMasterHandlers,
} from './generated/vnet/overlay/v1/OverlayMaster.js';
export type { OverlayStatusReport__Output } from './generated/vnet/overlay/v1/OverlayStatusReport.js';
export type { RegisterRequest__Output } from './generated/vnet/overlay/v1/RegisterRequest.js';
export { Status, type Status__Output } from './generated/vnet/overlay/v1/Status.js';
export type { StatusReply, StatusReply__Output } from './generated/vnet/overlay/v1/StatusReply.js';
export type { StatusReport__Output } from './generated/vnet/overlay/v1/StatusReport.js';
export type { VxLANInfo__Output } from './generated/vnet/overlay/v1/VxLANInfo.js';
export type { WatchRequest__Output } from './generated/vnet/overlay/v1/WatchRequest.js';

export const PROTO_PATH = fileURLToPath(new URL('../../../proto/overlay.proto', import.meta.url));

let loaded: ProtoGrpcType | undefined;

function load(): ProtoGrpcType {
  loaded ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(PROTO_PATH, {
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: false,
      oneofs: false,
    }),
  ) as unknown as ProtoGrpcType;
  return loaded;
}

/** The OverlayMaster service definition, for a server. */
export function overlayMasterService() {
  return load().vnet.overlay.v1.OverlayMaster.service;
}

/** A typed client of the OverlayMaster service at `address`. */
export function overlayMasterClient(
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
): OverlayMasterClient {
  return new (load().vnet.overlay.v1.OverlayMaster)(address, credentials, options);
}
