// Seeded property test of the data-plane diff: random desired states (agents and masters, IPv4
// and dual-stack, 0-3 overlays, 0-8 peers) against random kernels — the desired state of a
// variant of the node (peers gone, overlays gone, another MAC or MTU), or nothing, then with
// random deletions and changes, stale objects vnet owns, objects of others and kernel noise.
// Applying the diff to the in-memory kernel must succeed operation by operation and give exactly
// desired ∪ (what vnet does not own), and a second diff must be empty. VNET_SEED=<n> re-runs.
import type { Link, Nexthop } from '@vnet/netlink-ffi';
import { testSeed } from '@vnet/testkit';
import fc from 'fast-check';
import t from 'tap';
import { diff } from '../../src/dataplane/diff.js';
import { hostKernel } from '../helpers/dataplane-fixtures.js';
import {
  build,
  extra,
  mutate,
  node,
  plantUnowned,
  type Scenario,
  scenario,
} from '../helpers/dataplane-random.js';
import { canonDesired, canonKernel, KernelModel } from '../helpers/kernel-model.js';

function identity(m: KernelModel, l: Link | undefined): string {
  if (!l) return '-';
  const v = l.vxlan;
  return `${l.kind} ${l.address} ${v?.vni} ${v?.port} ${v?.local} ${m.name(v?.link)} ${v?.learning}`;
}

function run(s: Scenario): void {
  const desired = node(s);
  const model = new KernelModel(hostKernel());
  const host = new Set<object>(Object.values(model.state).flat());
  if (s.start.kind === 'variant') {
    const failures = model.applyAll(build(node(s, s.start)));
    if (failures.length) throw new Error(`building the start state: ${failures.join('; ')}`);
  }
  const planted = new Set<object>(host);
  const wanted = new Set(desired.links.map((l) => l.name));
  for (const p of s.planted) {
    if (p.what === 'mutate') mutate(model, p.kind, p.pick, wanted);
    else if (p.what === 'extra') extra(model, p.kind, p.pick);
    else plantUnowned(model, p.what === 'noise', p.kind, p.pick, planted);
  }
  const actual = model.snapshot();
  const unowned = new Set([...planted].filter((o) => Object.values(actual).flat().includes(o)));
  const vtepBefore = actual.links.find((l) => l.name === 'vtep1024');
  const desiredVtep = new KernelModel(hostKernel());
  desiredVtep.applyAll(
    build({
      ...desired,
      links: desired.links.slice(0, 1),
      addresses: [],
      neighbours: [],
      fdb: [],
      nexthops: [],
      routes: [],
      rules: [],
    }),
  );

  const ops = diff(desired, actual, { prune: s.prune });
  const failures = model.applyAll(ops);
  if (failures.length) throw new Error(`operations failed:\n${failures.join('\n')}`);

  for (const o of unowned) {
    if (model.removed.has(o))
      throw new Error(`an object vnet does not own was changed: ${JSON.stringify(o)}`);
  }
  const deletesVtep = ops.some(
    (o) => o.kind === 'link' && o.action === 'delete' && o.spec.link === 'vtep1024',
  );
  const differs =
    vtepBefore !== undefined &&
    identity(model, vtepBefore) !==
      identity(
        desiredVtep,
        desiredVtep.state.links.find((l) => l.name === 'vtep1024'),
      );
  if (deletesVtep !== differs) {
    throw new Error(
      `vtep1024 ${deletesVtep ? 'deleted' : 'kept'} although its identity ${differs ? 'differs' : 'matches'}`,
    );
  }
  // Neighbours that are not permanent are the kernel's own (resolved or failed), never vnet's.
  const kernels = (o: object) =>
    'router' in o && ((o as unknown as { state: number }).state & 0x80) === 0;
  // vnet's stale nexthops that routes of others still use are kept (the routes are checked above).
  const borrowed = new Set(
    model.state.routes.filter((r) => unowned.has(r) && r.nhid !== undefined).map((r) => r.nhid),
  );
  const desiredIds = new Set(desired.nexthops.map((n) => n.id));
  const kept = (o: object) =>
    'blackhole' in o && borrowed.has((o as Nexthop).id) && !desiredIds.has((o as Nexthop).id);
  const mine = canonKernel(model.state, (o) => !unowned.has(o) && !kernels(o) && !kept(o));
  const want = canonDesired(desired);
  if (s.prune) {
    if (JSON.stringify(mine) !== JSON.stringify(want)) {
      const extraLines = mine.filter((l) => !want.includes(l));
      const missing = want.filter((l) => !mine.includes(l));
      throw new Error(
        `kernel != desired ∪ unowned\n  extra: ${extraLines.join('\n    ')}\n  missing: ${missing.join('\n    ')}`,
      );
    }
  } else {
    const missing = want.filter((l) => !mine.includes(l));
    if (missing.length)
      throw new Error(`desired objects missing without prune: ${missing.join('; ')}`);
    const deletes = ops.filter(
      (o) =>
        o.action === 'delete' &&
        !(o.kind === 'link' && desired.links.some((l) => l.name === o.spec.link)),
    );
    if (deletes.length) throw new Error(`deletes without prune: ${JSON.stringify(deletes)}`);
  }
  const again = diff(desired, model.state, { prune: s.prune });
  if (again.length) throw new Error(`second diff not empty: ${JSON.stringify(again)}`);
}

t.test('diff reaches desired ∪ unowned and is a fixed point', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (re-run with VNET_SEED=${seed})`);
  try {
    fc.assert(fc.property(scenario, run), { seed, numRuns: 400 });
    t.pass('400 random kernels converge in one diff');
  } catch (err) {
    t.fail(`seed ${seed}: ${(err as Error).message}`);
  }
});
