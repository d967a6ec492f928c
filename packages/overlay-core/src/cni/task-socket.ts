// The agent's end of the vnet CNI plugin: HTTP on a unix socket (mode 0660, root's group), where
// the plugin reports the tasks it attaches and detaches. Requests:
//
//   PUT    /v1/tasks/<id>   body: a TaskReport (task-record.ts) whose id is <id>  -> 200 {task}
//   DELETE /v1/tasks/<id>                                                        -> 200 | 404
//   GET    /v1/tasks/<id>                                                        -> 200 {task} | 404
//   GET    /v1/tasks                                                             -> 200 {tasks}
//   GET    /v1/health                                                            -> 200 (CNI STATUS)
//   POST   /v1/exhausted   body: {network, node?, error}: a CNI runtime saw the node's half of
//                          an overlay run out of addresses (host-local fails before vnet's plugin
//                          runs, so the runtime's executor reports it)                -> 204
//
// Every error is 4xx with `{error}` naming what is wrong; nothing a client sends stops the server.

import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { isObject, quote } from '../input.js';
import { parseTaskReport, TaskRecordError, type TaskSink } from '../protocol/task-record.js';

/** Largest request body accepted (a task report is well under 16 KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

export interface ExhaustedReport {
  network: string;
  node?: string;
  error: string;
}

export interface TaskSocketOptions {
  path: string;
  sink: TaskSink;
  /** Called for `POST /v1/exhausted` (e.g. to report the overlay's status to the masters). */
  onExhausted?: (report: ExhaustedReport) => void;
  /** Socket file mode (default 0o660). */
  mode?: number;
}

export interface TaskSocket {
  readonly path: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size <= MAX_BODY_BYTES) chunks.push(b);
      // Past the bound the rest is drained unread and the answer is 413.
      else reject(new HttpError(413, `request body is larger than ${MAX_BODY_BYTES} bytes`));
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(new HttpError(400, `request body is not JSON: ${(e as Error).message}`));
      }
    });
  });
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}

function parseExhausted(v: unknown): ExhaustedReport {
  const s = (x: unknown) => typeof x === 'string' && x.length > 0 && x.length <= 1024;
  if (!isObject(v) || !s(v.network) || !s(v.error) || (v.node !== undefined && !s(v.node))) {
    throw new HttpError(
      400,
      `exhaustion report ${quote(v)} must be {network, error, node?} of strings`,
    );
  }
  return {
    network: v.network as string,
    error: v.error as string,
    ...(v.node !== undefined && { node: v.node as string }),
  };
}

async function handle(
  opts: TaskSocketOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://vnet');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (path === '/v1/health' && method === 'GET') return send(res, 200, { ok: true });
  if (path === '/v1/tasks' && method === 'GET') return send(res, 200, { tasks: opts.sink.list() });
  if (path === '/v1/exhausted' && method === 'POST') {
    opts.onExhausted?.(parseExhausted(await readBody(req)));
    return send(res, 204);
  }
  const m = /^\/v1\/tasks\/([^/]+)$/.exec(path);
  if (!m) throw new HttpError(404, `no such resource: ${method} ${quote(path)}`);
  let id: string;
  try {
    id = decodeURIComponent(m[1]!);
  } catch {
    throw new HttpError(400, `task id ${quote(m[1])} is not URL-encoded text`);
  }
  switch (method) {
    case 'PUT': {
      let task: ReturnType<typeof parseTaskReport>;
      try {
        task = parseTaskReport(await readBody(req));
      } catch (e) {
        if (e instanceof TaskRecordError) throw new HttpError(400, e.message);
        throw e;
      }
      if (task.id !== id) {
        throw new HttpError(400, `task id ${quote(task.id)} differs from the path's ${quote(id)}`);
      }
      opts.sink.upsert(task);
      return send(res, 200, { task });
    }
    case 'DELETE':
      if (!opts.sink.remove(id)) throw new HttpError(404, `no task ${quote(id)}`);
      return send(res, 200, { removed: id });
    case 'GET': {
      const task = opts.sink.list().find((t) => t.id === id);
      if (!task) throw new HttpError(404, `no task ${quote(id)}`);
      return send(res, 200, { task });
    }
    default:
      res.setHeader('allow', 'GET, PUT, DELETE');
      throw new HttpError(405, `method ${quote(method)} not allowed on ${quote(path)}`);
  }
}

/** Whether something accepts connections on the unix socket `path`. */
function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Removes a stale socket file at `path`; refuses a live one or a file that is not a socket. */
async function clearStale(path: string): Promise<void> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) throw new Error(`task socket ${path} exists and is not a socket`);
  if (await listening(path)) {
    throw new Error(`task socket ${path} is served by another process (another agent?)`);
  }
  await rm(path, { force: true });
}

/** Serves the task API on the unix socket `opts.path` until close(). */
export async function startTaskSocket(opts: TaskSocketOptions): Promise<TaskSocket> {
  await mkdir(dirname(opts.path), { recursive: true });
  await clearStale(opts.path);
  const server: Server = createServer((req, res) => {
    handle(opts, req, res).catch((e: unknown) => {
      if (res.headersSent) return res.destroy();
      if (e instanceof HttpError) return send(res, e.status, { error: e.message });
      send(res, 500, { error: (e as Error).message });
    });
  });
  // A request that stalls must not hold a connection for ever.
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(opts.path, opts.mode ?? 0o660);
  return {
    path: opts.path,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        // The socket file goes with the server (Node unlinks it on close).
        server.close(() => resolve());
      }),
  };
}
