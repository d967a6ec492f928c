// The main thread's side of the reader thread (worker.ts): starts it with the first monitor,
// tells it which sockets to watch, routes its batches to their monitors, and stops it when the
// last monitor closes (a later monitor starts a new one). A socket is closed only after the
// reader has confirmed it no longer reads it, so an fd number is never reused under it.
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { NetlinkError } from '../errors.js';
import { libc } from '../sys/libc.js';
import type { Control, ReaderData, Report } from './protocol.js';

const EFD_NONBLOCK = 0x800;
const EFD_CLOEXEC = 0x80000;

/** What a monitor gives the reader. */
export interface Sink {
  readonly fd: number;
  readonly flow: SharedArrayBuffer;
  readonly maxPendingBytes: number;
  /** A batch of records read from the socket (see protocol.ts). */
  deliver(data: ArrayBuffer): void;
  /** Reading stopped for good: errno from recv, or 5 (EIO) if the reader thread failed. */
  fail(errno: number, detail?: string): void;
}

const one = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);

/** Every reader whose thread is running: woken on process exit. */
const running = new Set<Reader>();
let exitHook = false;

/**
 * On exit Node waits for every worker thread to stop, and the reader sleeps in poll(): wake it so
 * that `process.exit()` (or the end of the program with a monitor still open) does not wait for
 * the poll() timeout.
 */
function onProcessExit(): void {
  for (const r of running) r.halt();
}

export class Reader {
  private static current: Reader | undefined;

  /** The running reader, started if there is none. */
  static get(): Reader {
    if (!Reader.current) Reader.current = new Reader();
    return Reader.current;
  }

  private readonly worker: Worker;
  private readonly control: MessagePort;
  private readonly wakeFd: number;
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  private readonly sinks = new Map<number, Sink>();
  /** Removals waiting for the reader's confirmation (or its exit, for the last one). */
  private readonly removals = new Map<number, () => void>();
  private readonly atExit: (() => void)[] = [];
  private nextId = 1;
  private stopping = false;
  private exited = false;

  private constructor() {
    const c = libc();
    this.wakeFd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.wakeFd < 0) {
      throw new NetlinkError({
        errno: c.errno(),
        operation: 'eventfd',
        kind: 'monitor',
        target: 'reader',
      });
    }
    const { port1, port2 } = new MessageChannel();
    this.control = port1;
    const workerData: ReaderData = {
      wakeFd: this.wakeFd,
      control: port2,
      stop: this.stopFlag.buffer as SharedArrayBuffer,
    };
    try {
      this.worker = new Worker(new URL('./worker.js', import.meta.url), {
        workerData,
        transferList: [port2],
        name: 'netlink-ffi monitor',
        // Not the parent's flags: its --import/--loader hooks (test runners, TypeScript loaders)
        // would be loaded again in this thread, for nothing (they cost tap over a second).
        execArgv: [],
      });
    } catch (e) {
      c.close(this.wakeFd);
      port1.close();
      throw e;
    }
    this.worker.on('message', (r: Report) => this.onReport(r));
    this.worker.on('error', (e) => this.onCrash(e));
    this.worker.on('exit', () => this.onExit());
    running.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', onProcessExit);
    }
  }

  private send(msg: Control): void {
    this.control.postMessage(msg);
    this.wake();
  }

  /** Interrupts the reader's poll() so that it looks at its messages and flags again. */
  wake(): void {
    if (!this.exited) libc().write(this.wakeFd, one, 8);
  }

  /** Starts reading a socket; returns its id. */
  add(sink: Sink): number {
    const id = this.nextId++;
    this.sinks.set(id, sink);
    this.send({
      op: 'add',
      id,
      fd: sink.fd,
      flow: sink.flow,
      maxPendingBytes: sink.maxPendingBytes,
    });
    return id;
  }

  /**
   * Stops reading a socket. Resolves once the reader has let go of it (the caller may then close
   * it) and, when it was the last one, once the reader thread has ended.
   */
  remove(id: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.exited || !this.sinks.has(id)) {
        this.sinks.delete(id);
        resolve();
        return;
      }
      this.removals.set(id, resolve);
      this.send({ op: 'remove', id });
    });
  }

  /** Process exit: the reader must return now. */
  halt(): void {
    Atomics.store(this.stopFlag, 0, 1);
    this.wake();
  }

  private onReport(r: Report): void {
    if (r.op === 'batch') {
      this.sinks.get(r.id)?.deliver(r.data);
      return;
    }
    const sink = this.sinks.get(r.id);
    this.sinks.delete(r.id);
    if (r.op === 'failed') {
      sink?.fail(r.errno);
    } else {
      const done = this.removals.get(r.id);
      this.removals.delete(r.id);
      if (done) {
        // The last socket: stop the thread and let the caller go once it has ended.
        if (this.sinks.size === 0) this.atExit.push(done);
        else done();
      }
    }
    if (this.sinks.size === 0) this.shutdown();
  }

  /** No socket left: the thread ends (a later monitor starts a new reader). */
  private shutdown(): void {
    if (Reader.current === this) Reader.current = undefined;
    if (this.stopping) return;
    this.stopping = true;
    this.send({ op: 'stop' });
  }

  private onCrash(e: Error): void {
    if (Reader.current === this) Reader.current = undefined;
    const sinks = [...this.sinks.values()];
    this.sinks.clear();
    for (const s of sinks) s.fail(5, `the monitor reader thread failed: ${e.message}`);
  }

  private onExit(): void {
    this.exited = true;
    running.delete(this);
    if (Reader.current === this) Reader.current = undefined;
    libc().close(this.wakeFd);
    this.control.close();
    const sinks = [...this.sinks.values()];
    this.sinks.clear();
    for (const s of sinks) s.fail(5, 'the monitor reader thread ended');
    for (const done of [...this.removals.values(), ...this.atExit]) done();
    this.removals.clear();
    this.atExit.length = 0;
  }
}
