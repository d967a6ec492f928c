// The node-facing gRPC API (proto/overlay.proto), loaded at run time with @grpc/proto-loader.
// Messages are plain objects in the .proto's own field names; enums travel as their names, so an
// AgentInfo message is exactly the seed's JSON shape (AgentJson).
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { NetworkConfig } from '../config/types.js';
import { type AgentJson, networkJson, type OverlayInfoJson } from '../ipam/state-json.js';
import type { OverlayStatusReport } from '../master/commands.js';

export const PROTO_PATH = fileURLToPath(new URL('../../../proto/overlay.proto', import.meta.url));

export interface RegisterRequest {
  ip?: string;
  bridges?: boolean;
}

export interface StatusReport {
  ip?: string;
  overlays?: OverlayStatusReport[];
}

export interface WatchRequest {
  ip?: string;
}

export interface NetworkConfigMessage {
  vtep_subnet: string;
  vtep_mac_oui: string;
  overlays?: OverlayInfoJson[];
  vtep_subnet6?: string;
  vtep_mtu?: number;
  overlay_mtu: number;
}

export interface AllocationUpdate {
  agent?: AgentJson;
  network?: NetworkConfigMessage;
  deleted?: boolean;
  index?: number;
}

let cached: grpc.ServiceClientConstructor | undefined;

/** The OverlayMaster service definition. */
export function overlayMasterService(): grpc.ServiceDefinition {
  return overlayMasterClientConstructor().service;
}

/** A client class of the OverlayMaster service. */
export function overlayMasterClientConstructor(): grpc.ServiceClientConstructor {
  if (!cached) {
    const def = protoLoader.loadSync(PROTO_PATH, {
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: false,
      oneofs: false,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      vnet: { overlay: { v1: { OverlayMaster: grpc.ServiceClientConstructor } } };
    };
    cached = pkg.vnet.overlay.v1.OverlayMaster;
  }
  return cached;
}

/** The config as the stream carries it: the state's `network` part plus the overlay MTU. */
export function networkMessage(config: NetworkConfig): NetworkConfigMessage {
  return { ...networkJson(config), overlay_mtu: config.overlay_mtu };
}
