import t from 'tap';
import { capacity } from '../../src/config/capacity.js';
import { dcosDefault, seedThreeOverlays } from '../helpers/configs.js';

t.test("seed 004's three overlays", async (t) => {
  const cap = capacity(seedThreeOverlays());
  t.equal(cap.maxNodes, 4094n, 'a /20 numbers 4094 VTEPs');
  const [one, two, three] = cap.overlays;
  t.equal(one!.families[0]!.nodeSubnets, 128n, 'a /17 holds 128 /24 node subnets');
  t.equal(two!.families[0]!.nodeSubnets, 128n);
  t.equal(three!.families[0]!.nodeSubnets, 256n);
  t.equal(one!.families[0]!.mesosPerNode, 125n, 'a /25 half minus network, broadcast, gateway');
  t.equal(one!.families[0]!.dockerPerNode, 125n);
  t.equal(one!.families[0]!.totalContainers, 128n * 250n);
});

t.test('DC/OS defaults, IPv6 and disabled overlays', async (t) => {
  const config = dcosDefault();
  config.vtep_subnet6 = 'fd01:a::/64';
  config.overlays.push({ name: 'dcos6', subnet6: 'fd01:b::/64', prefix6: 80, enabled: false });
  const cap = capacity(config);
  t.equal(cap.overlays[0]!.families[0]!.nodeSubnets, 65536n);
  const v6 = cap.overlays[1]!;
  t.equal(v6.enabled, false);
  t.equal(v6.families[0]!.family, 6);
  t.equal(v6.families[0]!.nodeSubnets, 65536n);
  t.equal(v6.families[0]!.mesosPerNode, (1n << 47n) - 2n);
});
