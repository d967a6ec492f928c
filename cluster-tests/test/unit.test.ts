// The harness's pure helpers (ping output, IPv4 arithmetic, waiting) and what it refuses before
// making anything.
import t from 'tap';
import {
  Cluster,
  firstHost,
  nth,
  parseCidr4,
  parsePing,
  pingArgv,
  WaitTimeoutError,
  waitFor,
} from '../src/index.js';

t.test('parsePing', async (t) => {
  t.match(
    parsePing(`PING 10.88.0.3 (10.88.0.3) 56(84) bytes of data.
64 bytes from 10.88.0.3: icmp_seq=1 ttl=64 time=0.088 ms
64 bytes from 10.88.0.3: icmp_seq=2 ttl=64 time=0.077 ms

--- 10.88.0.3 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 202ms
rtt min/avg/max/mdev = 0.077/0.082/0.088/0.005 ms
`),
    {
      transmitted: 2,
      received: 2,
      lossPercent: 0,
      errors: 0,
      duplicates: 0,
      rtt: { minMs: 0.077, avgMs: 0.082, maxMs: 0.088, mdevMs: 0.005 },
      unreachable: [],
    },
    'all replies',
  );
  const tooBig = parsePing(`PING 10.1.0.2 (10.1.0.2) 1450(1478) bytes of data.

--- 10.1.0.2 ping statistics ---
2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 203ms

ping: local error: message too long, mtu=1400
ping: local error: message too long, mtu=1400`);
  t.match(
    tooBig,
    { transmitted: 2, received: 0, errors: 2, lossPercent: 100, mtu: 1400 },
    'local MTU error',
  );
  t.equal(tooBig.rtt, undefined, 'no rtt without replies');
  t.match(
    parsePing(`From 10.88.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1450)
From 10.88.0.1 icmp_seq=2 Destination Host Unreachable
3 packets transmitted, 1 received, +2 errors, +1 duplicates, 66.6667% packet loss, time 2003ms`),
    {
      transmitted: 3,
      received: 1,
      errors: 2,
      duplicates: 1,
      lossPercent: 66.6667,
      mtu: 1450,
      unreachable: [
        'From 10.88.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1450)',
        'From 10.88.0.1 icmp_seq=2 Destination Host Unreachable',
      ],
    },
    'remote errors, duplicates, fractional loss',
  );
  t.match(
    parsePing(`3 packets transmitted, 3 packets received, 0% packet loss
round-trip min/avg/max = 0.1/0.2/0.3 ms`),
    { transmitted: 3, received: 3, lossPercent: 0, rtt: { minMs: 0.1, avgMs: 0.2, maxMs: 0.3 } },
    "busybox's summary",
  );
  t.match(parsePing('ping: connect: Network is unreachable\n'), {
    transmitted: 0,
    received: 0,
    lossPercent: 100,
    unreachable: ['ping: connect: Network is unreachable'],
  });
});

t.test('pingArgv', async (t) => {
  t.same(pingArgv('10.0.0.1'), ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', '10.0.0.1']);
  t.same(
    pingArgv('fd00::1', {
      family: 6,
      count: 1,
      size: 1400,
      dontFragment: true,
      deadlineS: 5,
      source: 'eth0',
    }),
    [
      'ping',
      '-n',
      '-6',
      '-c',
      '1',
      '-i',
      '0.2',
      '-W',
      '1',
      '-w',
      '5',
      '-s',
      '1400',
      '-M',
      'do',
      '-I',
      'eth0',
      'fd00::1',
    ],
  );
});

t.test('IPv4 arithmetic', async (t) => {
  t.same(parseCidr4('10.88.0.77/24'), { base: (10 << 24) + (88 << 16), prefix: 24 });
  t.equal(nth(parseCidr4('10.88.0.0/24'), 254), '10.88.0.254');
  t.equal(nth(parseCidr4('10.88.0.0/16'), 300), '10.88.1.44');
  t.throws(() => nth(parseCidr4('10.88.0.0/24'), 255), /address #255 is outside 10\.88\.0\.0\/24/);
  t.equal(firstHost('9.0.0.130/25'), '9.0.0.129');
  t.throws(() => parseCidr4('10.88.0.0'), /not an IPv4 CIDR/);
  t.throws(() => parseCidr4('10.88.0.300/24'), /not an IPv4 address/);
});

t.test('waitFor', async (t) => {
  let n = 0;
  t.equal(
    await waitFor(
      'n to reach 3',
      () => ++n,
      (v) => v >= 3,
      { intervalMs: 1 },
    ),
    3,
  );
  const err = await waitFor(
    'the moon',
    () => ({ phase: 'new' }),
    (o) => o.phase === 'full',
    { timeoutMs: 50, intervalMs: 10 },
  ).catch((e: unknown) => e);
  t.type(err, WaitTimeoutError);
  t.match(
    (err as Error).message,
    /^timed out after \d+ ms \(\d+ tries\) waiting for the moon; last observation: \{"phase":"new"\}$/,
  );
  await t.rejects(
    waitFor(
      'a server',
      () => {
        throw new Error('connection refused');
      },
      undefined,
      { timeoutMs: 30, intervalMs: 10 },
    ),
    /waiting for a server; last observation: error: connection refused$/,
    'a thrown error is the observation',
  );
  let calls = 0;
  await t.rejects(
    waitFor('a daemon', () => ++calls && false, undefined, {
      timeoutMs: 10_000,
      stopIf: () => (calls >= 2 ? 'it exited with code 1' : undefined),
    }),
    /^gave up waiting for a daemon: it exited with code 1; last observation: false$/,
    'stopIf ends the wait early',
  );
});

t.test('bad options are refused before anything is made', async (t) => {
  await t.rejects(
    Cluster.create({ hosts: 300 }),
    /300 hosts do not fit in the underlay 10\.88\.0\.0\/24/,
  );
  await t.rejects(Cluster.create({ underlay: { ipv6: 'fd00::/48' } }), /ipv6 "fd00::\/48"/);
  await t.rejects(Cluster.create({ sysctls: { 'a;b': 1 } }), /sysctl a;b/);
});
