// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.


export interface VxLANInfo {
  'vni'?: (number);
  'vtep_name'?: (string);
  'vtep_ip'?: (string);
  'vtep_mac'?: (string);
  'vtep_ip6'?: (string);
  'vtep_mtu'?: (number);
  '_vtep_ip6'?: "vtep_ip6";
  '_vtep_mtu'?: "vtep_mtu";
}

export interface VxLANInfo__Output {
  'vni'?: (number);
  'vtep_name'?: (string);
  'vtep_ip'?: (string);
  'vtep_mac'?: (string);
  'vtep_ip6'?: (string);
  'vtep_mtu'?: (number);
}
