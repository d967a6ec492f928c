// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.


/**
 * The masters as one master knows them: every member's host and the leader's (empty while no
 * leader is known). What the nodes' DNS answers for master.dcos and leader.dcos.
 */
export interface Masters {
  'masters'?: (string)[];
  'leader'?: (string);
}

/**
 * The masters as one master knows them: every member's host and the leader's (empty while no
 * leader is known). What the nodes' DNS answers for master.dcos and leader.dcos.
 */
export interface Masters__Output {
  'masters'?: (string)[];
  'leader'?: (string);
}
