// A real unbound (Debian) started on 127.0.0.1 at a free port for one test, serving local zones;
// stopped (by its PID) and its directory removed in teardown.
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery, udpExchange } from './packets.js';

export interface Unbound {
  port: number;
  stop(): Promise<void>;
}

/** A UDP port that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * `zones`: local-zone name -> type (static, transparent, ...); `data`: local-data records in
 * zone-file form; `probe`: a name it answers, used to wait until it is up.
 */
export async function startUnbound(opts: {
  zones: Record<string, string>;
  data: string[];
  probe: string;
}): Promise<Unbound> {
  const dir = mkdtempSync(join(tmpdir(), `navstar-unbound-${process.pid}-`));
  const port = await freeUdpPort();
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
    '  num-threads: 1',
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
      throw new Error(`unbound did not start on 127.0.0.1:${port}: ${stderr}`);
    }
  }
  return { port, stop };
}
