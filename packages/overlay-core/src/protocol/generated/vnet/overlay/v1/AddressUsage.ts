// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.


export interface AddressUsage {
  'mesos'?: (number);
  'docker'?: (number);
}

export interface AddressUsage__Output {
  'mesos'?: (number);
  'docker'?: (number);
}
