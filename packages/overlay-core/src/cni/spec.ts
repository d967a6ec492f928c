// The parts of the CNI specification (1.0/1.1, containernetworking/cni SPEC.md) that vnet's
// plugin, its chain executor and its config writer share: the shapes of a config list, a plugin's
// config, a result and an error, and the well-known error codes. Imports nothing, so the plugin's
// entry point stays small.

/** The version vnet writes its config lists in (what Debian's plugins 1.1.1 speak). */
export const CNI_VERSION = '1.0.0';

/** Versions whose results have `ips[].address` (what the vnet plugin reads from prevResult). */
export const SUPPORTED_VERSIONS: readonly string[] = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

/** Well-known error codes (SPEC.md "Error"); 100+ would be ours. */
export const CniCode = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  containerUnknown: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  /** STATUS: the plugin cannot ADD now. */
  notAvailable: 50,
} as const;

/** The error JSON a plugin prints on stdout (exit 1). */
export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** A CNI error: thrown by the plugin's commands, and carried by the executor from a plugin. */
export class CniError extends Error {
  override name = 'CniError';
  constructor(
    readonly code: number,
    msg: string,
    readonly details?: string,
  ) {
    super(msg);
  }

  toJson(cniVersion: string): CniErrorJson {
    return {
      cniVersion,
      code: this.code,
      msg: this.message,
      ...(this.details !== undefined && { details: this.details }),
    };
  }
}

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  /** The container's namespace path; absent for a host-side interface. */
  sandbox?: string;
}

export interface CniIpConfig {
  /** CIDR: "9.0.1.2/25". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** An ADD result (1.0.0). */
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

/** `runtimeConfig.portMappings[]` (the `portMappings` capability). */
export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: string;
  hostIP?: string;
}

/** One plugin's entry in a config list (the runtime adds name, cniVersion, runtimeConfig). */
export interface CniPluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A network config list. */
export interface CniConfList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: CniPluginConf[];
}

/** The config of vnet's own plugin (last in every list vnet writes). */
export interface VnetPluginConf extends CniPluginConf {
  type: 'vnet';
  /** The agent's task socket (HTTP over a unix socket). */
  agentSocket: string;
  /** The overlay (equal to the list's name). */
  network: string;
  /** The node's underlay IP, named in errors (e.g. exhaustion of its block). */
  node?: string;
  /** Handed to the container in the ADD result. */
  dns?: CniDns;
}
