// The Docker integration against a scripted Engine API on a unix socket (no dockerd, no root):
// the first stream opens and resyncs, events update and remove tasks, a broken event stream
// (dockerd still up) is reopened and resynced without losing or duplicating a task, and a
// dockerd that is not there is retried without an exception reaching the caller.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { startDockerIntegration } from '../../src/docker/integration.js';
import { desiredDocker } from '../../src/docker/networks.js';
import { allocation, DCOS, MemorySink, until } from '../helpers/docker-fixtures.js';

const id = (n: number) => `${String(n).repeat(12)}${'f'.repeat(52)}`;
const running = (n: number, ip: string) => ({
  Id: id(n),
  Names: [`/c${n}`],
  State: 'running',
  Labels: {},
  Ports: [],
  NetworkSettings: { Networks: { dcos: { IPAddress: ip } } },
});

t.test('events, a broken stream, resync', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vnet-docker-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'docker.sock');
  let containers = [running(1, '9.0.1.130')];
  let networks: unknown[] = [];
  const streams = new Set<ServerResponse>();
  let opened = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    const json = (v: unknown) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
    if (url.pathname === '/v1.41/events') {
      opened++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      streams.add(res);
      res.on('close', () => streams.delete(res));
    } else if (url.pathname === '/v1.41/containers/json') {
      const f = JSON.parse(url.searchParams.get('filters') ?? '{}') as { id?: string[] };
      json(f.id ? containers.filter((c) => f.id!.includes(c.Id)) : containers);
    } else if (url.pathname === '/v1.41/networks' && req.method === 'GET') {
      json(networks);
    } else if (url.pathname === '/v1.41/networks/create') {
      let body = '';
      req.on('data', (b) => (body += b));
      req.on('end', () => {
        networks = [...networks, { ...JSON.parse(body), Id: `n${networks.length}` }];
        json({ Id: `n${networks.length - 1}` });
      });
    } else {
      res.writeHead(404).end('{"message":"not scripted"}');
    }
  });
  await new Promise<void>((r) => server.listen(socket, r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const event = (v: unknown) => {
    for (const s of streams) s.write(`${JSON.stringify(v)}\n`);
  };

  const sink = new MemorySink();
  const integration = startDockerIntegration({
    dockerHost: `unix://${socket}`,
    sink,
    log: pino({ level: 'silent' }),
    commands: async () => ({ code: 1, output: 'no DOCKER-USER' }),
    backoff: { initialMs: 50, maxMs: 200 },
    intervalMs: 60_000,
  });
  t.teardown(() => integration.stop());
  integration.setNetworks(desiredDocker(allocation([DCOS])));

  await until('first resync', () => sink.tasks.has('docker-111111111111'));
  t.same(sink.calls, ['replace docker docker-111111111111']);
  await until(
    'network created',
    () => networks.length === 1 && integration.status().reconciles > 0,
  );
  t.same(integration.status().isolation, { ipv4: 'no-docker-iptables' });

  containers = [...containers, running(2, '9.0.1.131')];
  event({ Type: 'container', Action: 'start', Actor: { ID: id(2) } });
  await until('c2 added', () => sink.tasks.has('docker-222222222222'));
  containers = containers.filter((c) => c.Id !== id(1));
  event({ Type: 'container', Action: 'die', Actor: { ID: id(1) } });
  await until('c1 removed', () => !sink.tasks.has('docker-111111111111'));

  // The stream breaks while containers change; nothing tells the agent but the resync.
  sink.calls.length = 0;
  const reconciles = integration.status().reconciles;
  containers = [running(3, '9.0.1.132'), running(2, '9.0.1.131')];
  for (const s of streams) s.destroy();
  await until('reopened', () => opened === 2 && integration.status().connected);
  await until('c3 by resync', () => sink.tasks.has('docker-333333333333'));
  t.same(
    [...sink.tasks.keys()].sort(),
    ['docker-222222222222', 'docker-333333333333'],
    'no loss, no duplicate',
  );
  t.same(sink.calls, ['replace docker docker-333333333333,docker-222222222222'], 'one replace');
  await until(
    'networks checked again on reconnection',
    () => integration.status().reconciles > reconciles,
  );
  t.equal(networks.length, 1, 'nothing to change there');
});

t.test('no dockerd: retried, never thrown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vnet-docker-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const integration = startDockerIntegration({
    dockerHost: `unix://${join(dir, 'absent.sock')}`,
    sink: new MemorySink(),
    log: pino({ level: 'silent' }),
    backoff: { initialMs: 20, maxMs: 50 },
  });
  integration.setNetworks(desiredDocker(allocation([DCOS])));
  await until('an error recorded', () => integration.status().lastError);
  t.match(integration.status(), { connected: false, reconciles: 0, lastError: /ENOENT/ });
  await integration.stop();
  t.throws(
    () =>
      startDockerIntegration({ dockerHost: 'docker.sock', sink: new MemorySink(), log: pino() }),
    /--docker-host "docker.sock"/,
  );
});
