// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.


export interface MastersRequest {
}

export interface MastersRequest__Output {
}
