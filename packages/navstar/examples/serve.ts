// A navstar server fed by a record source, asked through Node's own resolver, then stopped.
//
//   npm run build && node dist/examples/serve.js            (port: any free one)
//   NAVSTAR_PORT=5353 NAVSTAR_STAY=1 node dist/examples/serve.js   (then: dig @127.0.0.1 -p 5353 ...)
import { Resolver } from 'node:dns/promises';
import { ManualSource, NavstarServer, prometheusRegistry, RecordStore } from '../src/index.js';

const source = new ManualSource(); // in vnet, the agent's gossip store plays this part
source.setMasters(['10.0.0.11']);
source.setLeader('10.0.0.11');
source.upsertTask({
  id: 'web.6f1c',
  name: '/prod/web', // a Marathon app in group /prod: named web-prod
  framework: 'marathon',
  agentIp: '10.0.0.21',
  containerIps: ['9.0.1.2'],
  ports: [{ name: 'http', containerPort: 80 }],
});

const store = new RecordStore();
store.attach(source, (err) => console.error(`bad record: ${err.message}`));

const server = await NavstarServer.start({
  store,
  listen: [{ address: '127.0.0.1', port: Number(process.env.NAVSTAR_PORT ?? 0) }],
  upstreams: [], // e.g. ['192.168.1.1'] to forward every other name
});
const { port, udpEngine } = server.addresses[0];
console.log(`navstar on 127.0.0.1:${port} (UDP engine ${udpEngine})`);

// A second instance lands on another agent with a host port: autoip now gives the agent for it.
source.upsertTask({
  id: 'web.9a2b',
  name: '/prod/web',
  framework: 'marathon',
  agentIp: '10.0.0.22',
  containerIps: ['9.0.2.2'],
  ports: [{ name: 'http', containerPort: 80, hostPort: 31000 }],
});
await Promise.resolve(); // changes apply at the end of the current microtask

const resolver = new Resolver();
resolver.setServers([`127.0.0.1:${port}`]);
for (const kind of ['agentip', 'containerip', 'autoip']) {
  const name = `web-prod.marathon.${kind}.dcos`;
  console.log(`${name} -> ${(await resolver.resolve4(name)).sort().join(', ')}`);
}
for (const srv of await resolver.resolveSrv(
  '_http._web-prod._tcp.marathon.dcos.thisdcos.directory',
)) {
  console.log(`SRV -> ${srv.name}:${srv.port}`);
}
console.log(`leader.dcos -> ${await resolver.resolve4('leader.dcos')}`);
await resolver
  .resolve4('nope.marathon.autoip.dcos')
  .catch((e: NodeJS.ErrnoException) => console.log(`nope.marathon.autoip.dcos -> ${e.code}`));

const m = server.metrics();
console.log(
  `metrics: ${m.queries.total} queries, ${m.responses.NOERROR} NOERROR, ${m.responses.NXDOMAIN} NXDOMAIN`,
);
const text = await prometheusRegistry(server).metrics();
console.log(text.split('\n').find((l) => l.startsWith('navstar_queries_total{transport="udp"}')));

if (!process.env.NAVSTAR_STAY) await server.close();
else console.log('serving until Ctrl-C');
