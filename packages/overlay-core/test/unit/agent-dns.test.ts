// Task DNS across agents in-process: a task reported on one agent is published by gossip and
// answered by navstar on another (containerip, agentip, autoip), goes when it stops, survives its
// agent's restart without being published twice, and stays for the grace when its node dies. Real
// gossip (UDP/TCP on 127.0.0.x) and real navstar servers; queries through Node's own resolver.
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '@vnet/testkit';
import t from 'tap';
import type { AgentHealth } from '../../src/protocol/documents.js';
import type { TaskReport } from '../../src/protocol/task-record.js';
import { gossipPort, ScriptedMaster, startTestAgent, until } from '../helpers/agent-harness.js';
import { dcosDefault } from '../helpers/configs.js';

const web = (id: string, ip: string, extra: Partial<TaskReport> = {}): TaskReport => ({
  id,
  name: 'web',
  framework: 'marathon',
  network: 'dcos',
  containerIps: [ip],
  ports: [{ protocol: 'tcp', containerPort: 80 }],
  runtime: 'cni',
  ...extra,
});

/** A-record lookups at one navstar; NXDOMAIN reads as []. */
function resolverAt(address: string, port: number) {
  const r = new Resolver({ timeout: 500, tries: 2 });
  r.setServers([`${address}:${port}`]);
  return async (name: string): Promise<string[]> => {
    try {
      return (await r.resolve4(name)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOTFOUND') return [];
      throw e;
    }
  };
}

t.test('tasks published by one agent resolve at every agent', async (t) => {
  const [dnsPort] = await freePorts(1);
  const master = new ScriptedMaster(dcosDefault());
  master.mastersView = { masters: ['10.0.0.8', '10.0.0.9'], leader: '10.0.0.9' };
  const dataDirA = mkdtempSync(join(tmpdir(), 'vnet-agent-'));
  t.teardown(() => rmSync(dataDirA, { recursive: true, force: true }));
  const dns = (ip: string) => ({ dns: { port: dnsPort!, listen: [ip], upstreams: [] } });
  const seeds = { gossipSeeds: [{ host: '127.0.0.2', port: gossipPort }] };
  let a = await startTestAgent(t, master, 2, { ...dns('127.0.0.2'), dataDir: dataDirA });
  const b = await startTestAgent(t, master, 3, { ...dns('127.0.0.3'), ...seeds });
  const atB = resolverAt('127.0.0.3', dnsPort!);
  await until(
    'B serves DNS',
    () => b.get<AgentHealth>('/health'),
    (h) => h.body.dns.length > 0,
  );

  t.same(await atB('master.dcos'), ['10.0.0.8', '10.0.0.9'], 'the masters, as they say');
  t.same(await atB('leader.dcos.thisdcos.directory'), ['10.0.0.9'], 'and their leader');
  a.agent.tasks.upsert(web('cni-1', '9.0.0.2'));
  a.agent.tasks.upsert(
    web('cni-2', '9.0.0.3', { ports: [{ protocol: 'tcp', containerPort: 80, hostPort: 8080 }] }),
  );
  b.agent.tasks.upsert(web('docker-x', '9.0.1.130', { runtime: 'docker' }));
  const all = await until(
    'every instance',
    () => atB('web.marathon.containerip.dcos'),
    (ips) => ips.length === 3,
  );
  t.same(all, ['9.0.0.2', '9.0.0.3', '9.0.1.130'], 'containerip: every instance, wherever it runs');
  t.same(await atB('web.marathon.agentip.dcos.thisdcos.directory'), ['127.0.0.2', '127.0.0.3']);
  t.same(
    await atB('web.marathon.autoip.dcos'),
    ['127.0.0.2', '9.0.0.2', '9.0.1.130'],
    'autoip: the agent for the instance with a host port, else the container',
  );

  a.agent.tasks.remove('cni-1');
  t.same(
    await until(
      'the stopped task gone',
      () => atB('web.marathon.containerip.dcos'),
      (ips) => ips.length === 2,
    ),
    ['9.0.0.3', '9.0.1.130'],
  );

  // A restart with the same data dir publishes the saved tasks again, once.
  await a.agent.stop();
  a = await startTestAgent(t, master, 2, {
    ...dns('127.0.0.2'),
    dataDir: dataDirA,
    ...{ gossipSeeds: [{ host: '127.0.0.3', port: gossipPort }] },
  });
  const health = await until(
    'A back with its task',
    () => a.get<AgentHealth>('/health'),
    (h) => h.body.tasks === 1 && h.body.gossipSynced,
  );
  t.equal(health.body.tasks, 1);
  const atA = resolverAt('127.0.0.2', dnsPort!);
  t.same(
    await until(
      'A answers too',
      () => atA('web.marathon.containerip.dcos'),
      (ips) => ips.length === 2,
    ),
    ['9.0.0.3', '9.0.1.130'],
    'the restarted agent answers for its own and the others',
  );
  t.same(await atB('web.marathon.containerip.dcos'), ['9.0.0.3', '9.0.1.130'], 'nothing doubled');

  // A's node dies: its task stays for the grace, then goes.
  await a.agent.stop();
  const gone = Date.now();
  t.same(
    await until(
      'the dead node withdrawn',
      () => atB('web.marathon.containerip.dcos'),
      (ips) => ips.length === 1,
      20_000,
    ),
    ['9.0.1.130'],
  );
  t.ok(Date.now() - gone >= 200, 'not before the grace');
  t.same(await atB('nothing.marathon.containerip.dcos'), [], 'an unknown name is NXDOMAIN');
});
