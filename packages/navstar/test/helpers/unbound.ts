// A real unbound (Debian) on 127.0.0.1, serving local zones, for tests and the bench: started on a
// free port (again on another when that one was taken before unbound bound it), stopped by its
// PID and its directory removed.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortTakenError, portTakenIn, withFreePorts } from '@vnet/testkit';
import { buildQuery, udpExchange } from './packets.js';

export interface Unbound {
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
}

export function startUnbound(opts: UnboundOptions): Promise<Unbound> {
  return withFreePorts('unbound', 1, ([port]) => startOn(port!, opts));
}

async function startOn(port: number, opts: UnboundOptions): Promise<Unbound> {
  const dir = mkdtempSync(join(tmpdir(), `navstar-unbound-${process.pid}-`));
  const conf = [
    'server:',
    '  interface: 127.0.0.1',
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
    '  access-control: 127.0.0.0/8 allow',
    // Nothing may leave 127.0.0.1: every name outside the test's zones is refused, never recursed.
    '  local-zone: "." refuse',
    ...Object.entries(opts.zones).map(([z, type]) => `  local-zone: "${z}." ${type}`),
    // Single quotes around records that contain double quotes (TXT strings).
    ...opts.data.map((d) => (d.includes('"') ? `  local-data: '${d}'` : `  local-data: "${d}"`)),
    'remote-control:',
    '  control-enable: no',
  ];
  const file = join(dir, 'unbound.conf');
  writeFileSync(file, `${conf.join('\n')}\n`);
  const child: ChildProcess = spawn('unbound', ['-d', '-c', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
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
  for (;;) {
    const r = await udpExchange(port, buildQuery({ name: opts.probe }), 200);
    if (r) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      if (portTakenIn(stderr)) throw new PortTakenError(stderr.trim());
      throw new Error(`unbound did not start on 127.0.0.1:${port}: ${stderr}`);
    }
  }
  return { port, stop };
}
