// The master's HTTP API. Any master answers: reads wait for a ReadIndex so a follower serves
// current data; changes go through the Proposer. DC/OS's two endpoints keep their shapes and
// statuses; the overlay, node and usage endpoints are ours. Bodies are checked before anything
// is proposed, so a bad request changes nothing and names the field that was wrong. Failures are
// MasterErrors, answered with the HTTP status of the one error table (src/protocol/errors.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { RaftNode } from '@vnet/raft';
import { formatIssue, type OverlayConfig } from '../config/types.js';
import { validateNetworkConfig } from '../config/validate.js';
import { cut, isObject, quote } from '../input.js';
import { type Ipam, normalizeNodeIp } from '../ipam/ipam.js';
import type { ErrorDocument, MasterHealth } from '../protocol/documents.js';
import { asMasterError, ERRORS, MasterError } from '../protocol/errors.js';
import { bearerCheck } from '../security/token.js';
import type { CommandResult, MasterCommand } from './commands.js';
import type { MasterMetrics } from './metrics.js';
import type { Proposer } from './proposer.js';
import { toStateJson } from './render.js';
import type { MasterStateMachine } from './state-machine.js';
import { nodeView, overlayViews, vtepView } from './views.js';

export interface HttpApiDeps {
  id: string;
  node: RaftNode<CommandResult>;
  sm: MasterStateMachine;
  proposer: Proposer;
  metrics: MasterMetrics;
  token?: string;
  /** False while the master starts (catching up, applying its config file): only /health answers. */
  ready: () => boolean;
}

/** The largest body a request may have. */
const MAX_BODY = 1 << 20;
/**
 * A larger body is still read (and thrown away) up to this size, so that its 413 reaches a
 * client that writes the whole body first and the connection stays usable; beyond it the
 * connection is closed.
 */
const MAX_DRAIN = 16 << 20;

type Handler = (req: IncomingMessage, params: string[], url: URL) => Promise<[number, unknown]>;

interface Route {
  pattern: RegExp;
  methods: Record<string, Handler>;
  /** Changes state: needs the token when one is configured. */
  mutating?: readonly string[];
}

/** A body over the limit; `close`: the rest was not read, the connection must go. */
class BodyTooLarge extends MasterError {
  constructor(readonly close: boolean) {
    super('BODY_TOO_LARGE', `body: larger than ${MAX_BODY} bytes`);
  }
}

/** The whole body, read to its end even when it is too large (up to MAX_DRAIN). */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > MAX_DRAIN) {
      reject(new BodyTooLarge(true));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
      else if (size > MAX_DRAIN) {
        req.off('data', onData);
        req.pause();
        reject(new BodyTooLarge(true));
      }
    };
    req.on('data', onData);
    req.once('end', () =>
      size > MAX_BODY ? reject(new BodyTooLarge(false)) : resolve(Buffer.concat(chunks)),
    );
    req.once('error', reject);
  });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = (await readBody(req)).toString('utf8');
  if (text.trim() === '')
    throw new MasterError('INVALID_ARGUMENT', 'body: empty, expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new MasterError(
      'INVALID_ARGUMENT',
      `body: not valid JSON (${cut((e as Error).message, 100)})`,
    );
  }
}

export function createHttpApi(deps: HttpApiDeps): Server {
  const { node, sm, proposer } = deps;
  const authorize = bearerCheck(deps.token);

  /** The current state after a ReadIndex: what the leader had committed when we asked. */
  async function current(): Promise<Ipam> {
    try {
      await node.read();
    } catch (e) {
      throw new MasterError('UNAVAILABLE', `no current state: ${(e as Error).message}`);
    }
    if (!sm.ipam) {
      throw new MasterError('NO_CONFIG', 'the overlay replicated log holds no network config yet');
    }
    return sm.ipam;
  }

  async function propose(command: MasterCommand): Promise<CommandResult> {
    try {
      return await proposer.propose(command);
    } catch (e) {
      if (e instanceof MasterError && e.code === 'OUTCOME_UNKNOWN') {
        throw new MasterError(e.code, `${e.message} (the change may or may not have been made)`);
      }
      throw e;
    }
  }

  function failed(r: CommandResult): never {
    if (r.ok) throw new Error('not a failure');
    const extra: Record<string, unknown> = {};
    if (r.holders) extra.holders = r.holders;
    if (r.conflicts) extra.conflicts = r.conflicts;
    throw new MasterError(r.code, r.message, extra);
  }

  function overlayOf(ipam: Ipam, name: string) {
    const view = overlayViews(ipam).find((o) => o.name === name);
    if (!view) throw new MasterError('UNKNOWN_OVERLAY', `no overlay named ${quote(name)}`);
    return view;
  }

  /** Checks an overlay body with the config rules, naming the field that is wrong. */
  function checkOverlayBody(ipam: Ipam, body: unknown): OverlayConfig {
    if (!isObject(body)) {
      throw new MasterError('INVALID_ARGUMENT', 'body: expected a JSON object (an overlay)');
    }
    const others = ipam.config.overlays.filter((o) => o.name !== body.name);
    const index = others.length;
    const checked = validateNetworkConfig({ ...ipam.config, overlays: [...others, body] });
    if (!checked.ok) {
      const issues = checked.issues.map((i) => {
        const path = i.path[0] === 'overlays' && i.path[1] === index ? i.path.slice(2) : i.path;
        return formatIssue({ ...i, path, line: undefined, column: undefined });
      });
      throw new MasterError('INVALID_OVERLAY', issues.join('; '), { issues });
    }
    return checked.config.overlays[index]!;
  }

  const routes: Route[] = [
    {
      pattern: /^\/health$/,
      methods: {
        GET: async () => {
          const s = node.status();
          const body: MasterHealth = {
            id: deps.id,
            role: s.role,
            leader: s.leader || null,
            term: s.term,
            commit: s.commit,
            applied: s.applied,
            configured: sm.ipam !== undefined,
            ready: deps.ready(),
          };
          return [s.leader && sm.ipam && deps.ready() ? 200 : 503, body];
        },
      },
    },
    {
      pattern: /^\/overlay-master\/state$/,
      methods: { GET: async () => [200, toStateJson(await current())] },
    },
    {
      pattern: /^\/overlay-master\/agents\/delete$/,
      mutating: ['POST'],
      methods: {
        POST: async (req) => {
          const body = await readJson(req);
          if (!isObject(body) || !Array.isArray(body.agents)) {
            throw new MasterError('INVALID_ARGUMENT', 'agents: expected {"agents": ["ip", ...]}');
          }
          const ips = body.agents.map((ip, i) => {
            if (typeof ip !== 'string') {
              throw new MasterError('INVALID_ARGUMENT', `agents[${i}]: expected a string`);
            }
            try {
              return normalizeNodeIp(ip);
            } catch {
              throw new MasterError(
                'INVALID_ARGUMENT',
                `agents[${i}]: ${quote(ip)} is not an IPv4 address`,
              );
            }
          });
          await current();
          const r = await propose({ op: 'delete-nodes', ips });
          if (!r.ok) failed(r);
          return [200, toStateJson(await current())];
        },
      },
    },
    {
      pattern: /^\/overlay-master\/overlays$/,
      mutating: ['POST'],
      methods: {
        GET: async () => {
          const ipam = await current();
          return [200, { overlays: overlayViews(ipam), vtep: vtepView(ipam) }];
        },
        POST: async (req) => {
          const body = await readJson(req);
          const overlay = checkOverlayBody(await current(), body);
          const r = await propose({ op: 'add-overlay', overlay });
          if (!r.ok) failed(r);
          const created = r.op === 'add-overlay' && r.created;
          return [created ? 201 : 200, overlayOf(await current(), overlay.name)];
        },
      },
    },
    {
      pattern: /^\/overlay-master\/overlays\/([^/]+)$/,
      mutating: ['DELETE'],
      methods: {
        GET: async (_req, [name]) => {
          const ipam = await current();
          const overlay = overlayOf(ipam, name!);
          const nodes = [...ipam.nodes]
            .filter((n) => n.overlays.has(name!))
            .map((n) => {
              const { name: _overlay, ...share } = nodeView(ipam, n).overlays.find(
                (o) => o.name === name,
              )!;
              return { ip: n.ip, ...share };
            });
          return [200, { ...overlay, agents: nodes }];
        },
        DELETE: async (_req, [name], url) => {
          const force = parseBool(url.searchParams.get('force'), 'force');
          const r = await propose({ op: 'remove-overlay', name: name!, force });
          if (!r.ok) failed(r);
          return [200, { removed: name, holders: r.op === 'remove-overlay' ? r.holders : [] }];
        },
      },
    },
    {
      pattern: /^\/overlay-master\/overlays\/([^/]+)\/(enable|disable)$/,
      mutating: ['POST'],
      methods: {
        POST: async (_req, [name, action]) => {
          const r = await propose({ op: 'set-enabled', name: name!, enabled: action === 'enable' });
          if (!r.ok) failed(r);
          return [200, overlayOf(await current(), name!)];
        },
      },
    },
    {
      pattern: /^\/overlay-master\/nodes$/,
      methods: {
        GET: async () => {
          const ipam = await current();
          return [200, { nodes: [...ipam.nodes].map((n) => nodeView(ipam, n)) }];
        },
      },
    },
    {
      pattern: /^\/overlay-master\/nodes\/([^/]+)$/,
      methods: {
        GET: async (_req, [ip]) => {
          const ipam = await current();
          let key: string;
          try {
            key = normalizeNodeIp(ip!);
          } catch (e) {
            throw new MasterError('INVALID_ARGUMENT', (e as Error).message);
          }
          const n = ipam.getNode(key);
          if (!n) throw new MasterError('UNKNOWN_NODE', `node ${key} is not registered`);
          return [200, nodeView(ipam, n)];
        },
      },
    },
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://master');
    const method = req.method ?? 'GET';
    if (url.pathname === '/metrics') {
      if (method !== 'GET')
        throw new MasterError('METHOD_NOT_ALLOWED', 'use GET', { allow: 'GET' });
      const text = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
      res.end(text);
      return;
    }
    for (const route of routes) {
      const m = route.pattern.exec(url.pathname);
      if (!m) continue;
      if (!deps.ready() && url.pathname !== '/health') {
        throw new MasterError(
          'NOT_READY',
          'the master is starting: catching up with the other masters',
        );
      }
      const handler = route.methods[method];
      if (!handler) {
        const allow = Object.keys(route.methods).join(', ');
        throw new MasterError('METHOD_NOT_ALLOWED', `use ${allow}`, { allow });
      }
      if (route.mutating?.includes(method)) authorize(req.headers.authorization);
      let params: string[];
      try {
        params = m.slice(1).map((p) => decodeURIComponent(p));
      } catch {
        throw new MasterError('INVALID_ARGUMENT', `path: ${quote(url.pathname)} is not valid`);
      }
      const [status, body] = await handler(req, params, url);
      send(res, status, body);
      return;
    }
    throw new MasterError('NO_SUCH_ENDPOINT', `no such endpoint: ${quote(url.pathname)}`);
  }

  return createServer((req, res) => {
    handle(req, res).catch((e) => {
      const err = asMasterError(e);
      const headers: Record<string, string> = {};
      if (err.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer';
      const { allow, ...extra } = err.extra;
      if (allow !== undefined) headers.allow = String(allow);
      // A refused request whose body was not read (or not to its end) is drained by Node before
      // the next request on the connection: only when that is bounded; otherwise close.
      const unbounded =
        !req.complete &&
        (req.headers['transfer-encoding'] !== undefined ||
          Number(req.headers['content-length'] ?? 0) > MAX_DRAIN);
      if ((err instanceof BodyTooLarge && err.close) || unbounded) headers.connection = 'close';
      const body: ErrorDocument = {
        error: err.code === 'INTERNAL' ? `internal error: ${err.message}` : err.message,
        code: err.code,
        ...extra,
      };
      send(res, ERRORS[err.code].http, body, headers);
    });
  });
}

function parseBool(v: string | null, name: string): boolean {
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new MasterError('INVALID_ARGUMENT', `${name}: expected true or false, got ${quote(v)}`);
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
