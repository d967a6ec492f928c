import { createServer } from 'node:net';
import t from 'tap';
import { freePorts, PortTakenError, portTakenIn, withFreePorts } from '../src/index.js';

t.test('free ports: distinct, below the ephemeral range, bindable', async (t) => {
  const ports = await freePorts(20);
  t.equal(new Set(ports).size, 20, 'distinct');
  t.ok(
    ports.every((p) => p >= 20_000 && p < 32_768),
    'between 20000 and the ephemeral range',
  );
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(ports[0], '127.0.0.1', resolve));
  t.pass(`bound ${ports[0]}`);
  const again = await freePorts(50);
  t.notOk(again.includes(ports[0]!), 'a port in use is not handed out');
  await new Promise((resolve) => s.close(resolve));
});

t.test('what servers say when a port is taken', async (t) => {
  for (const said of [
    'listen tcp 127.0.0.1:2380: bind: address already in use',
    'Error: listen EADDRINUSE: address already in use 127.0.0.1:7000',
    '[1700000000] unbound[1:0] fatal error: could not open ports',
    'iperf3: error - unable to start listener for connections: Address already in use',
  ]) {
    t.ok(portTakenIn(said), said);
  }
  t.notOk(portTakenIn('permission denied'));
});

t.test('a server that lost a port starts again on others, a bounded number of times', async (t) => {
  const seen: number[][] = [];
  const started = await withFreePorts('a server', 2, async (ports) => {
    seen.push(ports);
    if (seen.length < 3) throw new PortTakenError(`port ${ports[0]} taken`);
    return 'up';
  });
  t.equal(started, 'up');
  t.equal(seen.length, 3, 'two lost starts, then one that worked');
  t.equal(new Set(seen.flat()).size, 6, 'other ports each time');

  let calls = 0;
  await t.rejects(
    withFreePorts(
      'unbound',
      1,
      async (ports) => {
        calls++;
        throw new PortTakenError(`could not open port ${ports[0]}`);
      },
      4,
    ),
    /unbound could not start: a port was taken before it bound it, 4 times \(ports \d+: could not open port \d+;/,
  );
  t.equal(calls, 4);

  await t.rejects(
    withFreePorts('etcd', 1, async () => {
      throw new Error('no such binary');
    }),
    /no such binary/,
    'any other failure is not retried',
  );
});
