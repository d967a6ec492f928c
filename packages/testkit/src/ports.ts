// Ports for servers that tests and benches start. A port from bind(0), released again, lies in
// Linux's ephemeral range, from which the kernel also takes the local port of every outgoing
// connection: it can be taken before the server binds it (`unbound ... could not open ports`).
// These come from below that range. A server that binds its own ports (unbound, etcd, serf)
// can still lose one to another test's server: `withFreePorts` starts it again on others.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const FIRST = 20_000;
const HOST = '127.0.0.1';

/** The first port of the kernel's ephemeral range (32768 unless configured otherwise). */
function ephemeralStart(): number {
  try {
    const range = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    return Number(range.trim().split(/\s+/)[0]);
  } catch {
    return 32_768;
  }
}

interface Held {
  close(callback: () => void): void;
}

function holdTcp(port: number): Promise<Held | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, HOST, () => resolve(s));
  });
}

function holdUdp(port: number): Promise<Held | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined);
    });
    s.bind(port, HOST, () => resolve(s));
  });
}

/** The next port to try; processes start at different places so that they rarely meet. */
let next: number | undefined;

/**
 * `count` distinct ports of 127.0.0.1 below the ephemeral range, each free for both TCP and UDP
 * right now (all are held until every one is found, so that no two are the same).
 */
export async function freePorts(count: number): Promise<number[]> {
  const end = ephemeralStart();
  const span = end - FIRST;
  if (span < count) throw new Error(`no room for ${count} ports between ${FIRST} and ${end}`);
  next ??= FIRST + ((process.pid * 37) % span);
  const held: Held[] = [];
  const ports: number[] = [];
  try {
    for (let tried = 0; ports.length < count; tried++) {
      if (tried === span) throw new Error(`fewer than ${count} free ports in ${FIRST}-${end - 1}`);
      const port: number = next;
      next = port + 1 < end ? port + 1 : FIRST;
      const tcp = await holdTcp(port);
      if (!tcp) continue;
      const udp = await holdUdp(port);
      held.push(tcp);
      if (!udp) continue;
      held.push(udp);
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((h) => new Promise<void>((resolve) => h.close(() => resolve()))));
  }
}

/** A server could not start because another process had taken one of its ports. */
export class PortTakenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortTakenError';
  }
}

/** Whether a server's output says a port was taken (Node's, Go's, unbound's and iperf3's words). */
export function portTakenIn(output: string): boolean {
  return /address already in use|EADDRINUSE|could not open ports/i.test(output);
}

/**
 * Starts a server that binds its own ports on `count` free ones. When `start` rejects with a
 * PortTakenError, it is called again with other ports, `tries` times at most; then this rejects
 * with an error that names `what` and every port it lost.
 */
export async function withFreePorts<T>(
  what: string,
  count: number,
  start: (ports: number[]) => Promise<T>,
  tries = 5,
): Promise<T> {
  const lost: string[] = [];
  for (let i = 0; i < tries; i++) {
    const ports = await freePorts(count);
    try {
      return await start(ports);
    } catch (e) {
      if (!(e instanceof PortTakenError)) throw e;
      lost.push(`ports ${ports.join(', ')}: ${e.message}`);
    }
  }
  throw new Error(
    `${what} could not start: a port was taken before it bound it, ${tries} times (${lost.join('; ')})`,
  );
}
