// A real unbound (Debian) serving local zones, for tests and benches: on 127.0.0.1 by default, or
// on an address inside a network namespace; started on a free port unless one is given (again on
// another when that one was taken before unbound bound it), up once `dig` gets a reply, stopped
// by its PID and its directory removed. Nothing is ever recursed: every other name is refused.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.js';
import { PortTakenError, portTakenIn, withFreePorts } from './ports.js';

export interface Unbound {
  address: string;
  port: number;
  stop(): Promise<void>;
}

export interface UnboundOptions {
  /** local-zone name -> type (static, transparent, ...). */
  zones: Record<string, string>;
  /** local-data records in zone-file form. */
  data: string[];
  /** A name it answers, asked until it is up. */
  probe: string;
  /** num-threads; default 1. */
  threads?: number;
  /** The namespace to run in (`ip netns exec`); default this one. */
  netns?: string;
  /** The address to serve; default 127.0.0.1. */
  address?: string;
  /** The port; default a free one of 127.0.0.1 (only meaningful in this namespace). */
  port?: number;
}

export function startUnbound(opts: UnboundOptions): Promise<Unbound> {
  if (opts.port !== undefined) return startOn(opts.port, opts);
  return withFreePorts('unbound', 1, ([port]) => startOn(port!, opts));
}

const inNs = (netns: string | undefined, argv: string[]) =>
  netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;

async function startOn(port: number, opts: UnboundOptions): Promise<Unbound> {
  const address = opts.address ?? '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), `vnet-unbound-${process.pid}-`));
  const conf = [
    'server:',
    `  interface: ${address}`,
    `  port: ${port}`,
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 0',
    '  do-ip6: no',
    `  num-threads: ${opts.threads ?? 1}`,
    '  access-control: 0.0.0.0/0 allow',
    // Nothing may leave: every name outside the test's zones is refused, never recursed.
    '  local-zone: "." refuse',
    ...Object.entries(opts.zones).map(([z, type]) => `  local-zone: "${z}." ${type}`),
    // Single quotes around records that contain double quotes (TXT strings).
    ...opts.data.map((d) => (d.includes('"') ? `  local-data: '${d}'` : `  local-data: "${d}"`)),
    'remote-control:',
    '  control-enable: no',
  ];
  const file = join(dir, 'unbound.conf');
  writeFileSync(file, `${conf.join('\n')}\n`);
  const [cmd, ...args] = inNs(opts.netns, ['unbound', '-d', '-c', file]);
  const child: ChildProcess = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  const probe = inNs(opts.netns, [
    'dig',
    `@${address}`,
    '-p',
    String(port),
    '+tries=1',
    '+time=1',
    opts.probe,
  ]);
  for (;;) {
    const r = await run(probe, { timeoutMs: 3_000 });
    if (r.code === 0) break; // any answer: unbound is serving
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      if (portTakenIn(stderr)) throw new PortTakenError(stderr.trim());
      throw new Error(`unbound did not start on ${address}:${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { address, port, stop };
}
