// The storm checker catches planted violations (and passes a consistent state).
import t from 'tap';
import { Ipam } from '../../src/ipam/ipam.js';
import { agentJson } from '../../src/master/render.js';
import { allocationKey, checkAllocations } from '../helpers/allocation-check.js';
import { dcosDefault } from '../helpers/configs.js';

function state() {
  const ipam = new Ipam(dcosDefault());
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) ipam.register(ip);
  const agents = [...ipam.nodes].map((n) => agentJson(ipam, n));
  const answers = new Map(agents.map((a) => [a.ip!, [allocationKey(a)]]));
  return { agents, answers };
}

t.test('a consistent state passes', async (t) => {
  const { agents, answers } = state();
  t.same(checkAllocations(agents, answers), []);
});

t.test('a block held twice is caught', async (t) => {
  const { agents, answers } = state();
  agents[2]!.overlays![0]!.subnet = agents[0]!.overlays![0]!.subnet;
  t.match(checkAllocations(agents, answers), [
    /block 9\.0\.0\.0\/24 is held by 10\.0\.0\.1 and 10\.0\.0\.3/,
  ]);
});

t.test('a VTEP IP or MAC held twice is caught', async (t) => {
  const { agents, answers } = state();
  const vxlan = (i: number) => agents[i]!.overlays![0]!.backend!.vxlan!;
  vxlan(1).vtep_mac = vxlan(0).vtep_mac;
  vxlan(2).vtep_ip = vxlan(0).vtep_ip;
  const problems = checkAllocations(agents, answers);
  t.ok(problems.some((p) => /VTEP MAC .* held by 10\.0\.0\.1 and 10\.0\.0\.2/.test(p)));
  t.ok(problems.some((p) => /VTEP IP .* held by 10\.0\.0\.1 and 10\.0\.0\.3/.test(p)));
});

t.test('an answer the state does not hold (lost or changed) is caught', async (t) => {
  const { agents, answers } = state();
  answers.set('10.0.0.9', ['[]']);
  const moved = structuredClone(agents[1]!);
  moved.overlays![0]!.subnet = '9.0.7.0/24';
  answers.get('10.0.0.2')!.push(allocationKey(moved));
  const problems = checkAllocations(agents, answers);
  t.equal(problems.length, 2);
  t.match(problems[0], /10\.0\.0\.2 was answered .*9\.0\.7\.0\/24/);
  t.match(problems[1], /10\.0\.0\.9 was answered \[\], the state holds nothing/);
});
