// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.


export interface StatusReply {
  /**
   * False when the report matched what the log already held (nothing was written).
   */
  'changed'?: (boolean);
}

export interface StatusReply__Output {
  /**
   * False when the report matched what the log already held (nothing was written).
   */
  'changed'?: (boolean);
}
