// Builds a VXLAN device and a bridge in a fresh network namespace through rtnetlink, the way a
// node of an overlay network does, prints what the kernel then holds, and removes the namespace.
//
//   node packages/netlink-ffi/dist/examples/vxlan-bridge.js [--keep]
//
// Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN). The namespace itself is made with `ip netns add`:
// creating a named namespace is unshare(2) plus a bind mount, not netlink. With --keep it stays,
// for a look with `ip -n <name> -d link`, and `ip netns del <name>` removes it.
import { execFileSync } from 'node:child_process';
import { Netlink, NetlinkError, type Operation } from '../src/index.js';

const ns = `nl-example-${process.pid}`;
const keep = process.argv.includes('--keep');
execFileSync('ip', ['netns', 'add', ns]);

const nl = Netlink.in(ns); // a socket inside the namespace; this process stays where it is
try {
  // An underlay: a veth pair (no physical NIC in a fresh namespace).
  await nl.links.add({ name: 'eth0', kind: 'veth', peer: { name: 'eth0-peer' }, up: true });
  await nl.addresses.add({ dev: 'eth0', address: '192.168.50.1/24' });

  // The VTEP: VNI 1024, UDP port 64000, no MAC learning, MTU = underlay - 50.
  await nl.links.add({
    name: 'vtep1024',
    kind: 'vxlan',
    mtu: 1450,
    address: '70:b3:d5:80:00:01',
    vxlan: { vni: 1024, port: 64000, learning: false, local: '192.168.50.1', dev: 'eth0' },
    up: true,
  });
  await nl.addresses.add({ dev: 'vtep1024', address: '44.128.0.1/20' });

  // A bridge for local containers, routing for them.
  await nl.links.add({ name: 'm-demo', kind: 'bridge', mtu: 1420, up: true });
  await nl.addresses.add({ dev: 'm-demo', address: '9.0.0.1/25' });
  await nl.links.set({ link: 'm-demo', ipv4: { forwarding: true } });

  // One remote node, in one batch (one send, one ack): ARP entry, FDB entry, a nexthop object
  // onlink via its VTEP IP, and the route to its subnet through that nexthop. (A plain route
  // `via 44.128.0.2 dev vtep1024 onlink` works too; with a nexthop object the kernel's route
  // insert cost does not grow with the number of remote nodes, and replacing the nexthop
  // re-points the route at once.)
  const remote: Operation[] = [
    {
      kind: 'neighbour',
      action: 'replace',
      spec: { dev: 'vtep1024', address: '44.128.0.2', lladdr: '70:b3:d5:80:00:02' },
    },
    {
      kind: 'fdb',
      action: 'replace',
      spec: { dev: 'vtep1024', lladdr: '70:b3:d5:80:00:02', dst: '192.168.50.2' },
    },
    {
      kind: 'nexthop',
      action: 'replace',
      spec: { id: 2, via: '44.128.0.2', dev: 'vtep1024', onlink: true },
    },
    { kind: 'route', action: 'replace', spec: { dst: '9.0.1.0/24', nhid: 2 } },
  ];
  for (const r of await nl.batch(remote)) {
    console.log(`${r.operation.action} ${r.operation.kind}: ${r.ok ? 'ok' : r.error.message}`);
  }

  const vtep = await nl.links.get('vtep1024');
  console.log(
    `\n${vtep.name} #${vtep.index} ${vtep.kind} mtu ${vtep.mtu} ${vtep.address} up=${vtep.up}`,
  );
  const { vni, port, local, learning, ageing } = vtep.vxlan ?? {};
  console.log(
    `  vxlan id ${vni} port ${port} local ${local} learning ${learning} ageing ${ageing}`,
  );
  for (const l of await nl.links.list())
    console.log(`link ${l.index}: ${l.name} (${l.kind ?? 'device'})`);
  for (const n of await nl.neighbours.list({ dev: 'vtep1024', family: 4 })) {
    console.log(`neighbour ${n.address} lladdr ${n.lladdr} state 0x${n.state.toString(16)}`);
  }
  for (const e of await nl.fdb.list({ dev: 'vtep1024' }))
    console.log(`fdb ${e.lladdr} dst ${e.dst} self=${e.self}`);
  for (const n of await nl.nexthops.list()) {
    console.log(`nexthop ${n.id} via ${n.via}${n.onlink ? ' onlink' : ''}`);
  }
  for (const r of await nl.routes.list({ dev: 'vtep1024', family: 4 })) {
    const nhid = r.nhid === undefined ? '' : ` nhid ${r.nhid}`;
    console.log(`route ${r.dst}${nhid}${r.via ? ` via ${r.via}` : ''}${r.onlink ? ' onlink' : ''}`);
  }

  // Errors are typed and say what failed.
  try {
    await nl.links.add({ name: 'vtep1024', kind: 'vxlan', vxlan: { vni: 7 } });
  } catch (e) {
    if (!(e instanceof NetlinkError) || e.code !== 'EEXIST') throw e;
    console.log(`\nexpected: ${e.message}`);
  }
} finally {
  nl.close();
  if (keep) console.log(`\nkept namespace ${ns}: ip -n ${ns} -d link; ip netns del ${ns}`);
  else execFileSync('ip', ['netns', 'del', ns]);
}
