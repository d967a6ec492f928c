// Debian's `serf` agents for the side-by-side bench: started on 127.0.0.1 with distinct ports
// (all again on others when one was taken meanwhile), driven and observed over serf's msgpack RPC
// protocol (handshake, join, members-filtered, event, stream), killed by PID afterwards.
import { type ChildProcess, spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { PortTakenError, portTakenIn, withFreePorts } from '@vnet/testkit';
import { Packr, UnpackrStream } from 'msgpackr';
import { track } from './children.js';

const packr = new Packr({ useRecords: false });

interface Pending {
  body: boolean;
  resolve: (v: { header: Record<string, unknown>; body?: unknown }) => void;
  reject: (e: Error) => void;
}

/** A minimal client for serf's RPC protocol (msgpack header, then an optional body). */
export class SerfRpc {
  #seq = 0;
  readonly #pending = new Map<number, Pending>();
  readonly #streams = new Map<number, (record: Record<string, unknown>) => void>();
  #expectBody: ((b: unknown) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    const decoder = new UnpackrStream({ useRecords: false, mapsAsObjects: true });
    socket.pipe(decoder);
    decoder.on('data', (obj: Record<string, unknown>) => this.#onObject(obj));
    socket.on('error', (err) => this.#failAll(err));
    socket.on('close', () => this.#failAll(new Error('serf RPC connection closed')));
  }

  /** Connects once the agent listens; gives up when `gone()` says why it never will. */
  static async connect(port: number, gone: () => string | undefined): Promise<SerfRpc> {
    const end = Date.now() + 10_000;
    for (;;) {
      const why = gone();
      if (why) throw new Error(why);
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
          s.once('error', reject);
        });
        const rpc = new SerfRpc(socket);
        await rpc.call('handshake', { Version: 1 }, false);
        return rpc;
      } catch (err) {
        if (Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  #onObject(obj: Record<string, unknown>): void {
    if (this.#expectBody) {
      const take = this.#expectBody;
      this.#expectBody = undefined;
      take(obj);
      return;
    }
    const seq = Number(obj['Seq']);
    const stream = this.#streams.get(seq);
    const pending = this.#pending.get(seq);
    if (pending) {
      this.#pending.delete(seq);
      if (obj['Error']) {
        pending.reject(new Error(`serf RPC: ${obj['Error']}`));
        return;
      }
      if (pending.body) {
        this.#expectBody = (body) => pending.resolve({ header: obj, body });
      } else pending.resolve({ header: obj });
    } else if (stream) {
      this.#expectBody = (body) => stream(body as Record<string, unknown>);
    }
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  call(
    command: string,
    body: unknown,
    hasResponseBody: boolean,
  ): Promise<{ header: Record<string, unknown>; body?: unknown }> {
    const seq = this.#seq++;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { body: hasResponseBody, resolve, reject });
      const parts = [packr.pack({ Command: command, Seq: seq })];
      if (body !== undefined) parts.push(packr.pack(body));
      this.socket.write(Buffer.concat(parts));
    });
  }

  async join(addrs: string[]): Promise<number> {
    const r = await this.call('join', { Existing: addrs, Replay: false }, true);
    return Number((r.body as { Num: number }).Num);
  }

  /** Members, optionally filtered by status ("alive", "failed", "left") and name regex. */
  async members(status = '', name = ''): Promise<{ Name: string; Status: string }[]> {
    const r = await this.call('members-filtered', { Tags: {}, Status: status, Name: name }, true);
    return (r.body as { Members: { Name: string; Status: string }[] }).Members;
  }

  async userEvent(name: string, payload: Uint8Array): Promise<void> {
    await this.call('event', { Name: name, Payload: payload, Coalesce: false }, false);
  }

  /** Streams events of `type` ("user", "member-join", ...) to `onRecord`. */
  async stream(type: string, onRecord: (r: Record<string, unknown>) => void): Promise<void> {
    const seq = this.#seq;
    this.#streams.set(seq, onRecord);
    await this.call('stream', { Type: type }, false);
  }

  close(): void {
    this.socket.destroy();
  }
}

export class SerfAgent {
  readonly child: ChildProcess;
  rpc: SerfRpc | undefined;
  exited = false;
  /** What it wrote to stderr (also passed on to the bench's). */
  stderr = '';

  constructor(
    readonly name: string,
    readonly port: number,
    readonly rpcPort: number,
    profile = 'lan',
  ) {
    this.child = spawn(
      'serf',
      [
        'agent',
        `-node=${name}`,
        `-bind=127.0.0.1:${port}`,
        `-advertise=127.0.0.1:${port}`,
        `-rpc-addr=127.0.0.1:${rpcPort}`,
        `-profile=${profile}`,
        '-log-level=err',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child.stderr!.on('data', (b: Buffer) => {
      this.stderr += b;
      process.stderr.write(b);
    });
    track(this.child);
    this.child.on('exit', () => {
      this.exited = true;
    });
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /**
   * Starts `count` agents named prefix0.. (gossip on TCP and UDP, RPC on TCP) and connects to
   * their RPC; all or none stay running.
   */
  static startMany(prefix: string, count: number, profile: string): Promise<SerfAgent[]> {
    return withFreePorts(`${count} serf agents`, 2 * count, async (ports) => {
      const agents = Array.from(
        { length: count },
        (_, i) =>
          new SerfAgent(
            `${prefix}${i}`,
            ports[2 * i] as number,
            ports[2 * i + 1] as number,
            profile,
          ),
      );
      try {
        await Promise.all(
          agents.map(async (a) => {
            a.rpc = await SerfRpc.connect(a.rpcPort, () =>
              a.exited ? `serf agent ${a.name} exited: ${a.stderr.trim()}` : undefined,
            );
          }),
        );
        return agents;
      } catch (err) {
        await Promise.all(agents.map((a) => a.stop()));
        const said = agents.map((a) => a.stderr).join('');
        if (portTakenIn(said)) throw new PortTakenError(said.trim().split('\n')[0] ?? '');
        throw err;
      }
    });
  }

  kill(): void {
    if (!this.exited && this.child.pid) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }

  async stop(): Promise<void> {
    this.rpc?.close();
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.kill();
    });
  }
}
