// Groups of simulated members for the protocol tests.
import type { MemberEventType } from '../../src/membership/membership.js';
import type { Simulator } from '../../src/sim/simulator.js';
import type { Swim, SwimOptions } from '../../src/swim.js';

export type Options = Omit<SwimOptions, 'name'>;

/** Starts `n` members named m0..m{n-1}; every one joins through m0. */
export async function startGroup(
  sim: Simulator,
  n: number,
  opts: Options = {},
  prefix = 'm',
): Promise<Swim[]> {
  const nodes: Swim[] = [];
  for (let i = 0; i < n; i++) nodes.push(sim.add({ ...opts, name: `${prefix}${i}` }));
  const seed = (nodes[0] as Swim).address;
  await sim.settle(Promise.all(nodes.map((s) => s.join([seed]))));
  return nodes;
}

/** Every member of `nodes` sees exactly the members of `nodes` as alive (or suspect). */
export function converged(nodes: readonly Swim[]): boolean {
  for (const s of nodes) {
    if (s.liveCount !== nodes.length) return false;
  }
  for (const s of nodes) {
    for (const o of nodes) {
      const m = s.member(o.name);
      if (!m || (m.state !== 'alive' && m.state !== 'suspect') || m.boot !== o.local.boot)
        return false;
    }
  }
  return true;
}

export interface Seen {
  at: number;
  observer: string;
  type: MemberEventType;
  member: string;
}

/** Records every member event of `nodes` with its virtual time. */
export function recordEvents(sim: Simulator, nodes: readonly Swim[]): Seen[] {
  const seen: Seen[] = [];
  const types: MemberEventType[] = ['join', 'update', 'suspect', 'alive', 'dead', 'leave'];
  for (const s of nodes) {
    for (const type of types) {
      s.on(type, (m) => seen.push({ at: sim.now, observer: s.name, type, member: m.name }));
    }
  }
  return seen;
}

/** Every member of `observers` holds `name` in `state`. */
export function allSee(observers: readonly Swim[], name: string, state: string): boolean {
  return observers.every((s) => s.member(name)?.state === state);
}
