// The invariants of a registration storm, as a checker: no block, VTEP IP or VTEP MAC held by
// two nodes, and every answer a node got is the allocation the state holds for it.
import type { AgentJson } from '../../src/protocol/documents.js';

/** The allocation part of an answer: what must never change for a node. */
export function allocationKey(a: AgentJson): string {
  return JSON.stringify(
    (a.overlays ?? []).map((o) => [
      o.info?.name,
      o.subnet,
      o.subnet6,
      o.backend?.vxlan?.vtep_ip,
      o.backend?.vxlan?.vtep_ip6,
      o.backend?.vxlan?.vtep_mac,
    ]),
  );
}

/** Every violation found, in words (empty when the state and the answers are consistent). */
export function checkAllocations(agents: AgentJson[], answers: Map<string, string[]>): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const a of agents) {
    const vx = a.overlays?.[0]?.backend?.vxlan;
    const keys = [
      ...(vx ? [`VTEP IP ${vx.vtep_ip}`, `VTEP MAC ${vx.vtep_mac}`] : []),
      ...(vx?.vtep_ip6 ? [`VTEP IPv6 ${vx.vtep_ip6}`] : []),
      ...(a.overlays ?? []).flatMap((o) =>
        [o.subnet, o.subnet6].filter(Boolean).map((b) => `block ${b}`),
      ),
    ];
    for (const k of keys) {
      const other = seen.get(k);
      if (other !== undefined) problems.push(`${k} is held by ${other} and ${a.ip}`);
      seen.set(k, a.ip!);
    }
  }
  const inState = new Map(agents.map((a) => [a.ip!, allocationKey(a)]));
  for (const [ip, list] of answers) {
    for (const answer of list) {
      if (answer !== inState.get(ip)) {
        problems.push(
          `${ip} was answered ${answer}, the state holds ${inState.get(ip) ?? 'nothing'}`,
        );
      }
    }
  }
  return problems;
}
