// Processes in host namespaces: logs, signals, restart, readiness over HTTP from inside.

import { requireRoot } from '@vnet/testkit';
import t from 'tap';
import { Cluster, groupMembers, HttpError } from '../src/index.js';

requireRoot(t, 'network namespaces');

t.test('a process sees its host; signals, exit, restart, logs', async (t) => {
  const c = await Cluster.create({ hosts: 2, outside: false, t });
  const [h1, h2] = [c.host(1), c.host(2)];
  const p = h1.spawn(
    [
      process.execPath,
      '-e',
      `const os = require('node:os');
       console.log('addresses', JSON.stringify(os.networkInterfaces()));
       process.on('SIGUSR2', () => console.log('got SIGUSR2'));
       setInterval(() => {}, 1000);`,
    ],
    { name: 'probe' },
  );
  t.ok(p.running, 'running');
  t.ok(p.pid > 0, `pid ${p.pid}`);
  t.equal(p.name, 'h1/probe');
  t.match(p.logFile, new RegExp(`${c.prefix}/logs/h1-probe\\.log$`), 'log file in the run dir');
  const m = await p.waitForLog(/addresses (.*)/);
  const ifs = JSON.parse(m[1]!) as Record<string, { address: string }[]>;
  t.same(
    Object.keys(ifs).sort(),
    ['eth0', 'lo'],
    "it sees its host's interfaces, not the machine's",
  );
  t.ok(
    ifs.eth0?.some((a) => a.address === h1.ip),
    `eth0 has ${h1.ip}`,
  );
  t.notOk(JSON.stringify(ifs).includes(`"${h2.ip}"`), "and not h2's address");

  t.ok(p.kill('SIGUSR2'), 'kill(SIGUSR2) delivered');
  await p.waitForLog(/got SIGUSR2/);
  t.pass('the process handled the signal');

  const firstPid = p.pid;
  await p.restart();
  t.equal(p.runs, 2, 'restarted');
  t.not(p.pid, firstPid, 'a new pid');
  await p.waitForLog(/addresses/);
  t.notMatch(p.output(), /got SIGUSR2/, "output() is the current run's");
  t.match(p.log(), /run 1 killed by SIGTERM/, 'the log records how run 1 ended');

  p.kill('SIGKILL');
  t.same(await p.waitExit(5000), { code: null, signal: 'SIGKILL' }, 'waitExit reports the signal');
  t.notOk(p.running);
  t.match(
    p.exitReason(),
    /h1\/probe \(pid \d+ in vc\d+-\d+-h1\) was killed by SIGKILL; log .* ends:/,
  );
  t.notOk(p.kill(), 'kill() of an exited process does nothing');

  const sleeper = h2.spawn(['sleep', '300']);
  await t.rejects(
    sleeper.waitExit(100),
    /h2\/sleep \(pid \d+ in vc\d+-\d+-h2\) still runs after 100 ms/,
  );
  const again = h2.spawn(['sleep', '300']);
  t.equal(again.name, 'h2/sleep-2', 'a second process of the same name gets a number');
  const ended = await sleeper.stop();
  t.equal(ended?.signal, 'SIGTERM', 'stop() ends it with SIGTERM');
});

t.test('stop() reaches the whole process group, and SIGKILLs what ignores SIGTERM', async (t) => {
  const c = await Cluster.create({ hosts: 1, outside: false, t });
  const p = c
    .host(1)
    .spawn(['sh', '-c', "trap '' TERM; sleep 300 & sleep 300 & echo started; wait"], {
      name: 'family',
    });
  await p.waitForLog(/started/);
  t.equal(groupMembers(p.pid).length, 3, 'the shell and its two children share a group');
  const start = Date.now();
  const exit = await p.stop(300);
  t.equal(exit?.signal, 'SIGKILL', 'the shell ignored SIGTERM and was SIGKILLed');
  t.ok(Date.now() - start < 3000, 'after the grace period');
  t.same(groupMembers(p.pid), [], 'no member of its group is left');
});

t.test('HTTP from inside a namespace; readiness and early failure', async (t) => {
  const c = await Cluster.create({ hosts: 2, t });
  const [h1, h2] = [c.host(1), c.host(2)];
  const server = h2.startWhoami(8090);
  const url = `http://${h2.ip}:8090/health`;
  const r = await h1.waitHttp(url);
  t.equal(r.status, 200, 'waitHttp resolves with the accepted response');
  t.same(
    r.json(),
    { proto: 'tcp', address: h1.ip, port: r.json<{ port: number }>().port },
    'JSON body',
  );
  t.equal((await c.outside!.whoami(h2.ip, 8090)).address, c.outside!.ip, 'whoami over TCP');
  t.equal((await h1.whoami(h2.ip, 8090, 'udp')).address, h1.ip, 'whoami over UDP');
  t.same(
    server.seen().map((p) => `${p.proto} ${p.address}`),
    [`tcp ${h1.ip}`, `tcp ${c.outside!.ip}`, `udp ${h1.ip}`],
    'the server logs every peer it saw',
  );

  const refused = `http://${h2.ip}:9999/`;
  await t.rejects(h1.http(refused), HttpError, 'no HTTP answer is an HttpError');
  await t.rejects(
    h1.waitHttp(refused, undefined, { timeoutMs: 300 }),
    /timed out after \d+ ms \(\d+ tries\) waiting for http:\/\/10\.88\.0\.2:9999\/ from h1 \(vc\d+-\d+-h1\); last observation: error: GET .* from h1: curl: \(7\)/,
    'a timeout says what was waited for and what was seen last',
  );
  await t.rejects(
    h1.waitHttp(url, (res) => res.status === 204, { timeoutMs: 300 }),
    /last observation: \{"status":200,"body":"\{\\"proto\\":\\"tcp\\"/,
    'a response that is not accepted is the last observation',
  );

  const crasher = h2.spawn(['sh', '-c', 'echo "cannot bind: address in use" >&2; exit 3'], {
    name: 'crasher',
  });
  const start = Date.now();
  await t.rejects(
    h2.waitHttp(`http://${h2.ip}:8091/health`, undefined, {
      timeoutMs: 20_000,
      stopIf: () => crasher.exitReason(),
    }),
    /gave up waiting for .*8091\/health.*: h2\/crasher \(pid \d+ in .*\) exited with code 3; log .* ends:\n[\s\S]*cannot bind: address in use/,
    'a process that dies while awaited fails the wait at once, with its log',
  );
  t.ok(Date.now() - start < 5000, 'long before the timeout');
  await server.stop();
  t.notOk(server.process.running, 'whoami stopped');
});
