// The batched UDP engine (main-thread side): opens the socket through libc, runs worker threads
// that answer on it (mmsg-worker.ts), keeps their tables in step with the store, and sends the
// replies to forwarded queries on the same socket.
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { COUNTER_COUNT, SEND_ERRORS } from '../counters.js';
import type { NameEntry, ZoneDelta, ZoneWire } from '../zone/entry.js';
import { type Libc, MSG_DONTWAIT, openUdpSocket } from './libc.js';
import {
  CTRL_BACKLOG,
  CTRL_SEQ,
  CTRL_STOP,
  type WorkerInit,
  type WorkerMessage,
} from './mmsg-worker.js';

export interface MmsgUdpOptions {
  address: string;
  port: number;
  threads: number;
  maxUdp: number;
  recursion: boolean;
  /** Datagrams per recvmmsg()/sendmmsg() call. */
  batch?: number;
  /** Current table and zones, for starting (or restarting) a worker. */
  snapshot: () => { table: ReadonlyMap<string, NameEntry>; zones: ZoneWire[] };
  /** A query for another zone: call `reply` exactly once, with the response or null for none. */
  onForward: (query: Buffer, reply: (response: Uint8Array | null) => void) => void;
  /** Forwarded queries waiting on the main thread, beyond which workers answer SERVFAIL. */
  maxForwardBacklog: number;
  onError: (err: Error) => void;
}

interface ThreadState {
  worker: Worker;
  updates: MessagePort;
  control: Int32Array;
  counters: Float64Array;
  stopped: Promise<void>;
}

export class MmsgUdp {
  readonly port: number;
  private readonly fd: number;
  private readonly threads: ThreadState[] = [];
  /** Counters of threads that exited (kept so totals never go backwards). */
  private readonly retired = new Float64Array(COUNTER_COUNT);
  private closing = false;

  constructor(
    private readonly libc: Libc,
    private readonly opts: MmsgUdpOptions,
  ) {
    const s = openUdpSocket(libc, opts.address, opts.port, {
      rcvTimeoutMs: 100,
      bufferBytes: 4 << 20,
    });
    this.fd = s.fd;
    this.port = s.port;
  }

  async start(): Promise<void> {
    const starts: Promise<void>[] = [];
    for (let i = 0; i < this.opts.threads; i++) starts.push(this.spawn(i));
    await Promise.all(starts);
  }

  /** Sends one table change to every worker. */
  applyDelta(delta: ZoneDelta): void {
    for (const t of this.threads) {
      t.updates.postMessage(delta);
      Atomics.add(t.control, CTRL_SEQ, 1);
    }
  }

  /** Every thread's counters (live views) plus those of exited threads. */
  counters(): Float64Array[] {
    return [this.retired, ...this.threads.map((t) => t.counters)];
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.threads) Atomics.store(t.control, CTRL_STOP, 1);
    // Threads notice the flag within the receive timeout (100 ms); terminate any that do not.
    await Promise.all(
      this.threads.map((t) =>
        Promise.race([t.stopped, new Promise((r) => setTimeout(r, 2000).unref())]).then(() =>
          t.worker.terminate(),
        ),
      ),
    );
    for (const t of this.threads) t.updates.close();
    this.libc.close(this.fd);
  }

  private spawn(index: number): Promise<void> {
    const startedAt = Date.now();
    const { table, zones } = this.opts.snapshot();
    const channel = new MessageChannel();
    const control = new SharedArrayBuffer(12);
    const counters = new SharedArrayBuffer(COUNTER_COUNT * 8);
    const init: WorkerInit = {
      fd: this.fd,
      table: new Map(table),
      zones,
      maxUdp: this.opts.maxUdp,
      recursion: this.opts.recursion,
      batch: this.opts.batch ?? 64,
      maxForwardBacklog: this.opts.maxForwardBacklog,
      control,
      counters,
      updates: channel.port2,
    };
    const worker = new Worker(new URL('./mmsg-worker.js', import.meta.url), {
      workerData: init,
      transferList: [channel.port2],
    });
    let onStopped: () => void = () => {};
    const state: ThreadState = {
      worker,
      updates: channel.port1,
      control: new Int32Array(control),
      counters: new Float64Array(counters),
      stopped: new Promise<void>((r) => {
        onStopped = r;
      }),
    };
    this.threads[index] = state;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'forward') {
          const ctl = state.control;
          this.opts.onForward(
            Buffer.from(m.query.buffer, m.query.byteOffset, m.query.byteLength),
            (resp) => {
              Atomics.sub(ctl, CTRL_BACKLOG, 1);
              if (resp) this.sendTo(resp, m.addr);
            },
          );
        } else if (m.type === 'stopped') onStopped();
        else if (m.type === 'fatal') {
          const err = new Error(`UDP worker ${index} failed: ${m.error}`);
          this.opts.onError(err);
          reject(err);
        }
      });
      worker.on('error', (err) => {
        this.opts.onError(err);
        reject(err);
      });
      worker.on('exit', () => {
        onStopped();
        if (this.threads[index] !== state) return;
        for (let i = 0; i < COUNTER_COUNT; i++) this.retired[i] += state.counters[i];
        state.counters.fill(0);
        if (!this.closing) {
          // A worker must never stay dead: start a new one with the current table (at most one
          // restart per second, so a thread that cannot start does not spin).
          const wait = Math.max(0, 1000 - (Date.now() - startedAt));
          setTimeout(() => {
            if (this.closing) return;
            this.spawn(index).catch((e) =>
              this.opts.onError(e instanceof Error ? e : new Error(String(e))),
            );
          }, wait).unref();
        }
      });
    });
  }

  private sendTo(resp: Uint8Array, addr: Uint8Array): void {
    if (this.closing) return;
    const r = this.libc.sendto(this.fd, resp, resp.length, MSG_DONTWAIT, addr, addr.length);
    if (r < 0) this.retired[SEND_ERRORS]++;
  }
}
