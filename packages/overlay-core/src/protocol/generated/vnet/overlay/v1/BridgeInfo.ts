// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.


export interface BridgeInfo {
  'name'?: (string);
  'ip'?: (string);
  'ip6'?: (string);
  '_ip'?: "ip";
  '_ip6'?: "ip6";
}

export interface BridgeInfo__Output {
  'name'?: (string);
  'ip'?: (string);
  'ip6'?: (string);
}
