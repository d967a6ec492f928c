// Starts member processes (bench/member.ts) and follows their JSON-line events; used by the bench
// and by the real-socket tests. Every process is tracked by PID and killed by `stopAll`.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { track } from './children.js';

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'member.js');

export interface MemberEvent {
  ev: string;
  member?: string;
  key?: string;
  /** performance.now() in the parent when the line arrived. */
  at: number;
  [k: string]: unknown;
}

export interface MemberOptions {
  name: string;
  profile?: string;
  settings?: Record<string, unknown>;
  key?: string;
  /** Extra node flags (for example a smaller heap). */
  nodeArgs?: string[];
}

export class MemberProcess {
  readonly events: MemberEvent[] = [];
  readonly child: ChildProcess;
  addr = '';
  #waiters: { pred: (e: MemberEvent) => boolean; resolve: (e: MemberEvent) => void }[] = [];
  exited = false;

  constructor(readonly opts: MemberOptions) {
    const args = [
      ...(opts.nodeArgs ?? []),
      ENTRY,
      '--name',
      opts.name,
      '--profile',
      opts.profile ?? 'lan',
      '--settings',
      JSON.stringify(opts.settings ?? {}),
      ...(opts.key ? ['--key', opts.key] : []),
    ];
    this.child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    track(this.child);
    this.child.on('exit', () => {
      this.exited = true;
    });
    this.child.stdin?.on('error', () => {});
    const lines = createInterface({ input: this.child.stdout! });
    lines.on('line', (line) => {
      let e: MemberEvent;
      try {
        e = { ...JSON.parse(line), at: performance.now() };
      } catch {
        return;
      }
      if (e.ev === 'ready') this.addr = e['addr'] as string;
      this.events.push(e);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.pred(e)) return true;
        w.resolve(e);
        return false;
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  send(cmd: Record<string, unknown>): void {
    if (!this.exited) this.child.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  /** The first event (already seen or future) matching `pred`. */
  waitFor(
    pred: (e: MemberEvent) => boolean,
    timeoutMs: number,
    what = 'event',
  ): Promise<MemberEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.opts.name}: no ${what} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  ready(timeoutMs = 20_000): Promise<MemberEvent> {
    return this.waitFor((e) => e.ev === 'ready', timeoutMs, 'ready line');
  }

  /** Asks for stats and waits for the answer. */
  async stats(timeoutMs = 5000): Promise<MemberEvent> {
    const before = this.events.length;
    this.send({ op: 'stats' });
    return this.waitFor(
      (e) => e.ev === 'stats' && this.events.indexOf(e) >= before,
      timeoutMs,
      'stats',
    );
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited && this.child.pid) {
      try {
        process.kill(this.child.pid, signal);
      } catch {
        // Already gone.
      }
    }
  }

  exit(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.kill('SIGKILL');
    });
  }
}

export async function stopAll(members: readonly MemberProcess[]): Promise<void> {
  await Promise.all(members.map((m) => m.exit()));
}
