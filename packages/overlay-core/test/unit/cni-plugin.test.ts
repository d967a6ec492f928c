// The vnet CNI plugin as a runtime runs it (bin/vnet-cni.js: environment and stdin in, JSON out)
// against the agent's real task socket with an in-memory TaskSink; and the socket's own API.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { type ExhaustedReport, startTaskSocket } from '../../src/cni/task-socket.js';
import { MemorySink } from '../helpers/memory-sink.js';

const PLUGIN = fileURLToPath(new URL('../../../bin/vnet-cni.js', import.meta.url));

interface Out {
  code: number | null;
  json: Record<string, unknown> | undefined;
  stdout: string;
}

function plugin(env: Record<string, string>, stdin: string): Promise<Out> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PLUGIN], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, json, stdout });
    });
    child.stdin.end(stdin);
  });
}

function http(
  socketPath: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'm-dcos', mac: '02:00:00:00:00:01' },
    { name: 'veth1', mac: '02:00:00:00:00:02' },
    { name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/var/run/netns/x' },
  ],
  ips: [{ address: '9.0.1.2/25', gateway: '9.0.1.1', interface: 2 }],
  routes: [{ dst: '0.0.0.0/0', gw: '9.0.1.1' }],
};

async function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'vnet-cni-plugin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sink = new MemorySink();
  const exhausted: ExhaustedReport[] = [];
  const socket = join(dir, 'tasks.sock');
  const server = await startTaskSocket({
    path: socket,
    sink,
    onExhausted: (r) => exhausted.push(r),
  });
  t.teardown(() => server.close());
  const conf = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'dcos',
      type: 'vnet',
      agentSocket: socket,
      network: 'dcos',
      dns: { nameservers: ['9.0.1.1'] },
      ...extra,
    });
  const env = (command: string, extra: Record<string, string> = {}) => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'abcdef0123456789',
    CNI_NETNS: '/var/run/netns/x',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
    ...extra,
  });
  return { dir, sink, socket, conf, env, exhausted };
}

t.test('VERSION', async (t) => {
  const r = await plugin({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
  t.equal(r.code, 0);
  t.equal(r.json?.cniVersion, '0.4.0');
  t.ok((r.json?.supportedVersions as string[] | undefined)?.includes('1.0.0'));
});

t.test('ADD reports the task and passes prevResult through with dns; DEL removes it', async (t) => {
  const { sink, conf, env } = await setup(t);
  const add = await plugin(
    env('ADD', { CNI_ARGS: 'IgnoreUnknown=1;VNET_TASK=web;VNET_FRAMEWORK=marathon' }),
    conf({
      prevResult,
      runtimeConfig: {
        portMappings: [
          { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
          { hostPort: 5353, containerPort: 53, protocol: 'udp' },
        ],
      },
    }),
  );
  t.equal(add.code, 0, add.stdout);
  t.same(add.json, { ...prevResult, dns: { nameservers: ['9.0.1.1'] } });
  t.same(sink.list(), [
    {
      id: 'cni-abcdef0123456789',
      name: 'web',
      framework: 'marathon',
      network: 'dcos',
      containerIps: ['9.0.1.2'],
      ports: [
        { protocol: 'tcp', containerPort: 80, hostPort: 8080 },
        { protocol: 'udp', containerPort: 53, hostPort: 5353 },
      ],
      runtime: 'cni',
      agentIp: '10.0.0.1',
    },
  ]);
  const del = await plugin(env('DEL'), conf({ prevResult }));
  t.equal(del.code, 0, del.stdout);
  t.equal(del.stdout, '');
  t.equal(sink.list().length, 0);
});

t.test('names: args.cni.vnet, then runtime aliases, then the short container id', async (t) => {
  const { sink, conf, env } = await setup(t);
  await plugin(
    env('ADD', { CNI_IFNAME: 'net1' }),
    conf({ prevResult, args: { cni: { vnet: { task: 'db', framework: 'cassandra' } } } }),
  );
  await plugin(
    env('ADD', { CNI_CONTAINERID: 'c2' }),
    conf({ prevResult, runtimeConfig: { aliases: { dcos: ['cache'] } } }),
  );
  await plugin(env('ADD', { CNI_CONTAINERID: '0123456789abcdef0123' }), conf({ prevResult }));
  t.same(
    sink.list().map((x) => [x.id, x.name, x.framework]),
    [
      ['cni-abcdef0123456789-net1', 'db', 'cassandra'],
      ['cni-c2', 'cache', 'vnet'],
      ['cni-0123456789abcdef0123', '0123456789ab', 'vnet'],
    ],
  );
});

t.test('errors: CNI error JSON on stdout, exit 1, well-known codes', async (t) => {
  const { conf, env, dir } = await setup(t);
  const cases: [string, Record<string, string>, string, number, RegExp][] = [
    ['malformed stdin', env('ADD'), '{not json', 6, /not JSON/],
    ['stdin not an object', env('ADD'), '[1]', 6, /not a JSON object/],
    ['unknown command', env('FROB'), conf(), 4, /CNI_COMMAND "FROB"/],
    ['no command', { CNI_CONTAINERID: 'x' }, conf(), 4, /CNI_COMMAND/],
    [
      'missing env',
      { CNI_COMMAND: 'ADD', CNI_IFNAME: 'eth0' },
      conf({ prevResult }),
      4,
      /CNI_CONTAINERID, CNI_NETNS/,
    ],
    ['bad CNI_ARGS', env('ADD', { CNI_ARGS: 'novalue' }), conf({ prevResult }), 4, /CNI_ARGS/],
    ['old cniVersion', env('ADD'), conf({ cniVersion: '0.2.0' }), 1, /cniVersion "0.2.0"/],
    ['no agentSocket', env('ADD'), conf({ agentSocket: '' }), 7, /agentSocket/],
    ['no prevResult', env('ADD'), conf(), 7, /prevResult/],
    [
      'bad port protocol',
      env('ADD'),
      conf({
        prevResult,
        runtimeConfig: { portMappings: [{ hostPort: 1, containerPort: 1, protocol: 'sctp' }] },
      }),
      7,
      /sctp/,
    ],
    [
      'agent down on ADD',
      env('ADD'),
      conf({ prevResult, agentSocket: join(dir, 'none.sock') }),
      11,
      /not reachable/,
    ],
    [
      'agent refuses',
      env('ADD'),
      conf({ prevResult: { ...prevResult, ips: [{ address: 'x/1' }] } }),
      100,
      /refused/,
    ],
    ['CHECK of unknown task', env('CHECK'), conf({ prevResult }), 3, /does not know/],
    [
      'STATUS with agent down',
      env('STATUS'),
      conf({ agentSocket: join(dir, 'none.sock') }),
      50,
      /not ready/,
    ],
  ];
  for (const [what, e, stdin, code, msg] of cases) {
    const r = await plugin(e, stdin);
    t.equal(r.code, 1, `${what}: exit 1`);
    t.equal(r.json?.code, code, `${what}: code ${code} (${r.stdout.trim()})`);
    t.match(r.json?.msg, msg, `${what}: message`);
    t.equal(typeof r.json?.cniVersion, 'string');
  }
});

t.test('DEL of an unknown task, and DEL with the agent down, succeed; STATUS, GC', async (t) => {
  const { sink, conf, env, dir } = await setup(t);
  t.equal((await plugin(env('DEL'), conf())).code, 0, 'unknown task');
  t.equal(
    (await plugin(env('DEL'), conf({ agentSocket: join(dir, 'none.sock') }))).code,
    0,
    'agent down',
  );
  t.equal((await plugin(env('STATUS'), conf())).code, 0, 'STATUS with the agent up');
  await plugin(env('ADD', { CNI_CONTAINERID: 'keep' }), conf({ prevResult }));
  await plugin(env('ADD', { CNI_CONTAINERID: 'stale' }), conf({ prevResult }));
  const gc = await plugin(
    { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' },
    conf({
      cniVersion: '1.1.0',
      'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }],
    }),
  );
  t.equal(gc.code, 0, gc.stdout);
  t.same(
    sink.list().map((x) => x.id),
    ['cni-keep'],
  );
});

t.test(
  'task socket: API errors are 4xx naming the problem; a stale socket file is replaced',
  async (t) => {
    const { socket, sink, exhausted } = await setup(t);
    t.equal(statSync(socket).mode & 0o777, 0o660);
    const task = {
      id: 'cni-a',
      name: 'a',
      framework: 'f',
      network: 'dcos',
      containerIps: ['9.0.1.3'],
      ports: [],
      runtime: 'cni',
    };
    t.equal((await http(socket, 'PUT', '/v1/tasks/cni-a', JSON.stringify(task))).status, 200);
    t.equal((await http(socket, 'GET', '/v1/tasks/cni-a')).status, 200);
    const mismatch = await http(socket, 'PUT', '/v1/tasks/cni-b', JSON.stringify(task));
    t.equal(mismatch.status, 400);
    t.match(mismatch.body, { error: /differs from the path/ });
    const bad = await http(
      socket,
      'PUT',
      '/v1/tasks/cni-a',
      JSON.stringify({ ...task, containerIps: ['nope'] }),
    );
    t.equal(bad.status, 400);
    t.match(bad.body, { error: /containerIps\[0\]/ });
    t.equal((await http(socket, 'PUT', '/v1/tasks/cni-a', '{')).status, 400);
    t.equal((await http(socket, 'PUT', '/v1/tasks/cni-a', 'x'.repeat(100_000))).status, 413);
    t.equal((await http(socket, 'POST', '/v1/tasks/cni-a')).status, 405);
    t.equal((await http(socket, 'GET', '/v2/nothing')).status, 404);
    t.equal((await http(socket, 'DELETE', '/v1/tasks/cni-zzz')).status, 404);
    t.equal(
      (
        await http(
          socket,
          'POST',
          '/v1/exhausted',
          '{"network":"dcos","node":"10.0.0.1","error":"full"}',
        )
      ).status,
      204,
    );
    t.same(exhausted, [{ network: 'dcos', node: '10.0.0.1', error: 'full' }]);
    t.equal((await http(socket, 'POST', '/v1/exhausted', '{"network":3}')).status, 400);
    t.equal(sink.list().length, 1);

    // A live socket is refused; a file that is not a socket too.
    await t.rejects(startTaskSocket({ path: socket, sink }), /served by another process/);
    const file = `${socket}.file`;
    writeFileSync(file, '');
    await t.rejects(startTaskSocket({ path: file, sink }), /not a socket/);
  },
);

t.test('task socket: a stale socket file (its server died) is replaced', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vnet-cni-stale-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 's.sock');
  // A child process binds the socket and is killed: the file stays, nobody listens.
  const child = spawn(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  await new Promise((r) => child.on('close', r));
  t.ok(statSync(path).isSocket(), 'stale socket file left behind');
  const server = await startTaskSocket({ path, sink: new MemorySink() });
  t.teardown(() => server.close());
  t.equal((await http(path, 'GET', '/v1/health')).status, 200);
});
