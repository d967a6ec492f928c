// One network namespace of a cluster (switch, host, outside host or container) and what a test
// does in it: run a command, start a process, ping, make an HTTP request, read iproute2's JSON.
import { fileURLToPath } from 'node:url';
import {
  bridgeJson,
  ExecError,
  type ExecOptions,
  type ExecResult,
  type IpObject,
  ipJson,
  netnsArgv,
  parseJsonOutput,
  run,
  runOk,
} from '@vnet/testkit';
import { type PingOptions, type PingResult, parsePing, pingArgv } from './ping.js';
import { NsProcess, type ProcessOwner, type SpawnOptions } from './process.js';
import { type WaitOptions, waitFor } from './wait.js';

/** Where a namespace's processes log and get recorded (implemented by the cluster). */
export interface NetnsOwner extends ProcessOwner {
  /** A log file path for a new process called `name` in namespace `ns` (unique). */
  logPath(ns: string, name: string): string;
}

export interface HttpRequest {
  method?: string;
  /** Request body (sent as is; set a content-type header for JSON). */
  body?: string;
  headers?: Record<string, string>;
  /** Whole-request timeout; default 5 s. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  body: string;
  /** The body parsed as JSON (throws with the body in the message if it is not JSON). */
  json<T = unknown>(): T;
}

/** Where a whoami server saw a request come from. */
export interface Peer {
  proto: 'tcp' | 'udp';
  address: string;
  port: number;
}

export class HttpError extends Error {
  constructor(
    readonly url: string,
    readonly ns: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The compiled tool that serves and asks "who am I" (peer address) over TCP (HTTP) and UDP. */
export const WHOAMI_JS = fileURLToPath(new URL('./tools/whoami.js', import.meta.url));

export class Netns {
  readonly #names = new Map<string, number>();

  constructor(
    protected readonly owner: NetnsOwner,
    /** Short name in the cluster: `sw`, `h1`, `out`, `h1-c1`. */
    readonly name: string,
    /** The namespace's name under /var/run/netns. */
    readonly ns: string,
  ) {}

  /** The namespace's mount point, for `nsenter --net=...` or `CNI_NETNS`. */
  get path(): string {
    return `/var/run/netns/${this.ns}`;
  }

  /** Runs a command inside the namespace to completion (any exit code resolves). */
  exec(argv: readonly string[], opts: ExecOptions & { via?: SpawnOptions['via'] } = {}) {
    return run(netnsArgv(this.ns, argv, opts.via), opts);
  }

  /** Like exec, but rejects with an ExecError naming the namespace unless the exit code is 0. */
  async execOk(
    argv: readonly string[],
    opts: ExecOptions & { via?: SpawnOptions['via'] } = {},
  ): Promise<ExecResult> {
    const r = await this.exec(argv, opts);
    if (r.code !== 0) throw new ExecError(argv, r, ` (in ${this.name}, ${this.ns})`);
    return r;
  }

  /** `ip -n NS ARGS...`; rejects unless it exits 0. */
  ipCmd(...args: string[]): Promise<ExecResult> {
    return runOk(['ip', '-n', this.ns, ...args], {}, ` (in ${this.name})`);
  }

  /** Runs many `ip` commands in this namespace at once (`ip -n NS -batch -`, one per line). */
  ipBatch(lines: readonly string[]): Promise<ExecResult> {
    return runOk(
      ['ip', '-n', this.ns, '-batch', '-'],
      { input: `${lines.join('\n')}\n` },
      ` (in ${this.name})`,
    );
  }

  /** `ip -n NS -j ARGS...` parsed. */
  ipJson<T = IpObject[]>(...args: string[]): Promise<T> {
    return ipJson<T>(this.ns, ...args);
  }

  /** `bridge -n NS -j ARGS...` parsed (e.g. `fdb show dev vtep1024`). */
  bridgeJson<T = IpObject[]>(...args: string[]): Promise<T> {
    return bridgeJson<T>(this.ns, ...args);
  }

  /** The namespace's links (`ip -j link`). */
  links(): Promise<IpLink[]> {
    return this.ipJson<IpLink[]>('link');
  }

  /** The namespace's links with their addresses (`ip -j addr`). */
  addresses(): Promise<IpAddrLink[]> {
    return this.ipJson<IpAddrLink[]>('addr');
  }

  /** One link, or undefined if there is none by that name. */
  async link(name: string): Promise<IpLink | undefined> {
    const argv = ['ip', '-n', this.ns, '-j', 'link', 'show', 'dev', name];
    const r = await run(argv);
    if (r.code !== 0) return undefined;
    return parseJsonOutput<IpLink[]>(r.stdout, argv)[0];
  }

  /** Waits until a link (e.g. the agent's `m-dcos` bridge) exists; the error lists what does. */
  async waitLink(name: string, opts: WaitOptions = {}): Promise<IpLink> {
    let seen: string[] = [];
    try {
      return (await waitFor(
        `link ${name} in ${this.name} (${this.ns})`,
        async () => {
          const links = await this.links();
          seen = links.map((l) => l.ifname);
          return links.find((l) => l.ifname === name);
        },
        (l) => l !== undefined,
        opts,
      )) as IpLink;
    } catch (e) {
      throw new Error(`${(e as Error).message}; links there: ${seen.join(', ') || '(none)'}`);
    }
  }

  /** Reads (no value) or writes a sysctl of this namespace, e.g. `net.ipv4.ip_forward`. */
  async sysctl(key: string, value?: string | number): Promise<string> {
    const file = `/proc/sys/${key.replace(/\./g, '/')}`;
    const script = value === undefined ? 'cat "$1"' : 'printf "%s\\n" "$2" > "$1" && cat "$1"';
    const argv = [
      'sh',
      '-c',
      script,
      'sysctl',
      file,
      ...(value === undefined ? [] : [String(value)]),
    ];
    return (await this.execOk(argv)).stdout.trim();
  }

  /**
   * Starts a long-running process in this namespace: own process group, stdout and stderr in
   * `<run>/logs/<name>.log`, stopped by the cluster's destroy.
   */
  spawn(argv: readonly string[], opts: SpawnOptions = {}): NsProcess {
    const base = opts.name ?? (argv[0] ?? 'proc').split('/').pop()!;
    const n = (this.#names.get(base) ?? 0) + 1;
    this.#names.set(base, n);
    const name = n === 1 ? base : `${base}-${n}`;
    const log = this.owner.logPath(this.ns, `${this.name}-${name}`);
    return new NsProcess(this.owner, this.ns, argv, `${this.name}/${name}`, log, opts).start();
  }

  /** Pings from this namespace; never rejects for loss (look at `received`). */
  async ping(target: string, opts: PingOptions = {}): Promise<PingResult> {
    const r = await this.exec(pingArgv(target, opts), { timeoutMs: 60_000 });
    const output = `${r.stdout}${r.stderr}`;
    return { ...parsePing(output), code: r.code, output };
  }

  /**
   * An HTTP request made from inside this namespace (with curl: the root namespace reaches no
   * namespace). Rejects with an HttpError when there is no HTTP answer (refused, timeout, ...).
   */
  async http(url: string, req: HttpRequest = {}): Promise<HttpResponse> {
    const timeoutMs = req.timeoutMs ?? 5000;
    const argv = ['curl', '-sS', '-g', '--noproxy', '*', '--max-time', String(timeoutMs / 1000)];
    argv.push('-X', req.method ?? 'GET', '-o', '-', '-w', '\\n%{http_code}');
    for (const [k, v] of Object.entries(req.headers ?? {})) argv.push('-H', `${k}: ${v}`);
    if (req.body !== undefined) argv.push('--data-binary', '@-');
    argv.push(url);
    const r = await this.exec(argv, {
      timeoutMs: timeoutMs + 5000,
      ...(req.body !== undefined && { input: req.body }),
    });
    if (r.code !== 0) {
      throw new HttpError(
        url,
        this.ns,
        `${req.method ?? 'GET'} ${url} from ${this.name}: ${r.stderr.trim() || `curl exited with ${r.code}`}`,
      );
    }
    const cut = r.stdout.lastIndexOf('\n');
    const body = r.stdout.slice(0, cut);
    const status = Number(r.stdout.slice(cut + 1));
    return {
      status,
      body,
      json<T>() {
        try {
          return JSON.parse(body) as T;
        } catch {
          throw new Error(
            `${url} answered ${status} with a body that is not JSON: ${body.slice(0, 300)}`,
          );
        }
      },
    };
  }

  /**
   * Waits until `url` answers (from this namespace) and `accept` holds for the response; default
   * accept: status 200. Returns the accepted response.
   */
  waitHttp(
    url: string,
    accept: (r: HttpResponse) => boolean = (r) => r.status === 200,
    opts: WaitOptions & { request?: HttpRequest } = {},
  ): Promise<HttpResponse> {
    const request = { timeoutMs: 2000, ...opts.request };
    return waitFor(
      `${url} from ${this.name} (${this.ns})`,
      async () => {
        const r = await this.http(url, request);
        return Object.assign(r, {
          toJSON: () => ({ status: r.status, body: r.body.slice(0, 300) }),
        });
      },
      accept,
      { intervalMs: 100, ...opts },
    );
  }

  /**
   * Starts a server that answers, over HTTP on TCP and over UDP on the same port, with the
   * address it saw the request come from (`{proto, address, port}`), and logs every one.
   */
  startWhoami(port = 7777, opts: { host?: string } = {}): WhoamiServer {
    const proc = this.spawn(
      [process.execPath, WHOAMI_JS, 'serve', String(port), opts.host ?? '::'],
      {
        name: `whoami-${port}`,
      },
    );
    return new WhoamiServer(this, proc, port);
  }

  /** Asks a whoami server which address this namespace's request came from. */
  async whoami(address: string, port = 7777, proto: 'tcp' | 'udp' = 'tcp'): Promise<Peer> {
    if (proto === 'tcp') {
      const host = address.includes(':') ? `[${address}]` : address;
      const r = await this.http(`http://${host}:${port}/`, { timeoutMs: 3000 });
      if (r.status !== 200) throw new Error(`whoami ${address}:${port} answered ${r.status}`);
      return r.json<Peer>();
    }
    const r = await this.execOk([
      process.execPath,
      WHOAMI_JS,
      'ask-udp',
      address,
      String(port),
      '2000',
    ]);
    return JSON.parse(r.stdout) as Peer;
  }

  /** This namespace's first global address on `dev` of the family (undefined if none). */
  async addressOf(dev: string, family: 4 | 6 = 4): Promise<string | undefined> {
    const [link] = await this.ipJson<IpAddrLink[]>('addr', 'show', 'dev', dev);
    const want = family === 4 ? 'inet' : 'inet6';
    return link?.addr_info.find((a) => a.family === want && a.scope === 'global')?.local;
  }

  toString(): string {
    return `${this.name} (${this.ns})`;
  }
}

/** A whoami server started by `startWhoami`. */
export class WhoamiServer {
  constructor(
    readonly netns: Netns,
    readonly process: NsProcess,
    readonly port: number,
  ) {}

  /** Waits until it listens (it logs "listening"). */
  async ready(opts: WaitOptions = {}): Promise<this> {
    await this.process.waitForLog(/listening/, opts);
    return this;
  }

  /** Every request it saw so far, oldest first. */
  seen(): Peer[] {
    return this.process
      .log()
      .split('\n')
      .filter((l) => l.startsWith('{"proto"'))
      .map((l) => JSON.parse(l) as Peer);
  }

  stop(): Promise<unknown> {
    return this.process.stop();
  }
}

/** The fields of `ip -j link` the harness uses (the rest is there too). */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  master?: string;
  address?: string;
  link_type?: string;
  [key: string]: unknown;
}

export interface IpAddrLink extends IpLink {
  addr_info: {
    family: 'inet' | 'inet6';
    local: string;
    prefixlen: number;
    scope: string;
    [key: string]: unknown;
  }[];
}
