// A dual-stack overlay (DC/OS managed IPv6 for Docker only): each node gets an IPv6 VTEP address
// and a v6 block, every other node a neighbour for its v6 VTEP and routes to its v6 blocks; and
// containers ping each other across nodes over IPv6. This cluster also runs with a bearer token
// (masters and agents) and an encrypted gossip group (--keyring-file).
import { randomBytes } from 'node:crypto';
import { requireRoot } from '@vnet/testkit';
import t from 'tap';
import { Cluster, type Host, waitFor } from '../src/index.js';
import { agentInfo, containerAddress, containerAddress6, startOverlay } from './helpers/overlay.js';

requireRoot(t, 'network namespaces');

const CONFIG = `
vtep_subnet: 44.128.0.0/20
vtep_subnet6: fd01:a::/64
vtep_mac_oui: 70:B3:D5:00:00:00
overlays:
  - name: dcos
    subnet: 9.0.0.0/8
    prefix: 24
    subnet6: fd01:b::/64
    prefix6: 80
`;

t.test('containers ping each other across nodes over IPv6', async (t) => {
  const cluster = await Cluster.create({ hosts: 3, t });
  const token = cluster.file('token', 'cluster-secret\n');
  const keyring = cluster.file('keyring', `${randomBytes(32).toString('base64')}\n`);
  const oc = await startOverlay(cluster, {
    masters: 1,
    agents: 2,
    config: CONFIG,
    masterArgs: ['--token-file', token],
    agentArgs: ['--token-file', token, '--keyring-file', keyring],
  });
  const [h2, h3] = oc.agentHosts as [Host, Host];
  const containers = await Promise.all(
    [h2, h3].map(async (h) => {
      const agent = oc.agents.get(h.name)!;
      const address6 = await containerAddress6(agent, 'dcos');
      const gateway6 = (await containerAddress6(agent, 'dcos', 1)).split('/')[0]!;
      return h.addContainer(`c${h.name}`, {
        bridge: 'm-dcos',
        address: await containerAddress(agent, 'dcos'),
        address6,
        gateway6,
      });
    }),
  );
  const [a, b] = containers as [(typeof containers)[0], (typeof containers)[0]];
  const info = await agentInfo(oc.agents.get(h3.name)!);
  t.match(info.overlays![0]!.backend.vxlan.vtep_ip6, /^fd01:a::[0-9a-f]{1,4}\/64$/);
  t.match(info.overlays![0]!.subnet6, /^fd01:b:[0-9a-f:]*\/80$/, 'a /80 of fd01:b::/64');
  // IPv6 neighbour discovery on the fresh bridges takes a moment.
  await waitFor(
    'IPv6 across nodes',
    () => a.ping(b.ip6!, { count: 1, waitS: 1 }),
    (r) => r.received === 1,
    {
      timeoutMs: 15_000,
    },
  );
  const vtep6 = info.overlays![0]!.backend.vxlan.vtep_ip6!.split('/')[0]!;
  const neigh = await h2.exec(['ip', '-6', 'neigh', 'show', vtep6, 'dev', 'vtep1024']);
  t.match(neigh.stdout, /PERMANENT/, "h2 holds a permanent neighbour for h3's IPv6 VTEP");
  const route = await h2.exec(['ip', '-6', 'route', 'show', info.overlays![0]!.subnet6!]);
  t.match(route.stdout, /nhid/, "h2 routes h3's IPv6 block through h3's nexthop");
  const r = await b.ping(a.ip6!, { count: 3, waitS: 2 });
  t.equal(r.received, 3, r.output);
  const r4 = await a.ping(b.ip!, { count: 2, waitS: 2 });
  t.equal(r4.received, 2, 'IPv4 on the same overlay still works');
  const plain = await h2.exec(['ss', '-uan', 'sport', '= :7946']);
  t.match(
    plain.stdout,
    /7946/,
    'the gossip group runs (encrypted; the agents would not hear each other otherwise)',
  );
});
