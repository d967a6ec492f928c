// The Docker Engine API over plain HTTP (Node's `http`, a unix socket or TCP), pinned to API
// v1.41 (Docker 20.10, Debian 12's `docker.io`; later engines still serve it). vnet needs a
// dozen JSON calls and the event stream, so no client library: `dockerode` would bring
// docker-modem, ssh2 (with an optional native module) and a gRPC/protobuf stack for nothing
// this uses. Answers are typed loosely (`unknown`) and checked by their readers.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { quote } from '../input.js';

/** The Engine API version every path is prefixed with. */
export const DOCKER_API_VERSION = '1.41';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** Where dockerd listens: a unix socket, or host and port (plain TCP, no TLS). */
export type DockerEndpoint = { socketPath: string } | { host: string; port: number };

export class DockerHostError extends Error {
  override name = 'DockerHostError';
}

/** Parses `--docker-host`: `unix:///path` or `tcp://host:port` (as DOCKER_HOST). */
export function parseDockerHost(text: string): DockerEndpoint {
  if (text.startsWith('unix://')) {
    const socketPath = text.slice('unix://'.length);
    if (!socketPath.startsWith('/')) {
      throw new DockerHostError(`--docker-host ${quote(text)}: unix:// needs an absolute path`);
    }
    return { socketPath };
  }
  const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+):(\d{1,5})\/?$/.exec(text);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new DockerHostError(
      `--docker-host ${quote(text)}: expected unix:///path/to/docker.sock or tcp://host:port`,
    );
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** An answer of the Engine API outside 2xx, or no answer at all (`status` 0). */
export class DockerApiError extends Error {
  override name = 'DockerApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    message: string,
  ) {
    super(`docker ${method} ${path}: ${status ? `${status} ` : ''}${message}`);
  }
}

/** Events the watcher asks for: `/events` lines, as far as vnet reads them. */
export interface DockerEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

const REQUEST_TIMEOUT_MS = 30_000;
const MAX_BODY = 64 << 20;

export class DockerEngine {
  constructor(readonly endpoint: DockerEndpoint) {}

  #options(method: string, path: string): RequestOptions {
    return {
      ...this.endpoint,
      method,
      path: `/v${DOCKER_API_VERSION}${path}`,
      headers: { host: 'docker', 'content-type': 'application/json' },
    };
  }

  /** One call; resolves with the parsed JSON answer (undefined for an empty one). */
  call(method: string, path: string, body?: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const fail = (status: number, message: string) =>
        reject(new DockerApiError(method, path, status, message));
      const req = httpRequest(this.#options(method, path), (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (b: Buffer) => {
          size += b.length;
          if (size > MAX_BODY) res.destroy(new Error(`answer larger than ${MAX_BODY} bytes`));
          else chunks.push(b);
        });
        res.on('error', (e) => fail(res.statusCode ?? 0, e.message));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text.trim() === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(json);
          const message =
            typeof (json as { message?: unknown })?.message === 'string'
              ? (json as { message: string }).message
              : text.slice(0, 200);
          fail(status, message);
        });
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timed out')));
      req.on('error', (e) => fail(0, e.message));
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /**
   * Follows `/events` with these filters: `onEvent` for each event, `onOpen` once dockerd has
   * answered (events from then on are not missed). Resolves when the stream ends (dockerd
   * stopped) and rejects when it breaks or cannot open; `signal` closes it (then it resolves).
   */
  events(
    filters: Record<string, string[]>,
    onOpen: () => void,
    onEvent: (e: DockerEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const path = `/events?filters=${encodeURIComponent(JSON.stringify(filters))}`;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return resolve();
      const req = httpRequest({ ...this.#options('GET', path), signal }, (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new DockerApiError('GET', path, res.statusCode ?? 0, 'events refused'));
        }
        onOpen();
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => {
          pending += s;
          let nl = pending.indexOf('\n');
          while (nl >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line !== '') {
              try {
                onEvent(JSON.parse(line) as DockerEvent);
              } catch {
                // not an event: ignored (the next resync repairs whatever it meant)
              }
            }
            nl = pending.indexOf('\n');
          }
          if (pending.length > 1 << 20) pending = ''; // a runaway line
        });
        res.on('end', () => resolve());
        res.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      });
      req.on('error', (e) =>
        signal.aborted ? resolve() : reject(new DockerApiError('GET', '/events', 0, e.message)),
      );
      req.end();
    });
  }
}
