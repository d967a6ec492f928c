// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.

export const Status = {
  STATUS_INVALID: 'STATUS_INVALID',
  STATUS_OK: 'STATUS_OK',
  STATUS_FAILED: 'STATUS_FAILED',
  STATUS_CONFIGURING: 'STATUS_CONFIGURING',
} as const;

export type Status =
  | 'STATUS_INVALID'
  | 0
  | 'STATUS_OK'
  | 1
  | 'STATUS_FAILED'
  | 2
  | 'STATUS_CONFIGURING'
  | 3

export type Status__Output = typeof Status[keyof typeof Status]
