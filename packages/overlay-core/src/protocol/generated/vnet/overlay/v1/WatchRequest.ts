// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.


export interface WatchRequest {
  'ip'?: (string);
}

export interface WatchRequest__Output {
  'ip'?: (string);
}
