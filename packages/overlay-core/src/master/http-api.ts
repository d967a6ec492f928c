// The master's HTTP API. Any master answers: reads wait for a ReadIndex so a follower serves
// current data; changes go through the Proposer. DC/OS's two endpoints keep their shapes and
// statuses; the overlay, node and usage endpoints are ours. Bodies are checked before anything
// is proposed, so a bad request changes nothing and names the field that was wrong.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { RaftNode } from '@vnet/raft';
import { formatIssue, type OverlayConfig } from '../config/types.js';
import { validateNetworkConfig } from '../config/validate.js';
import { type Ipam, normalizeNodeIp } from '../ipam/ipam.js';
import { toStateJson } from '../ipam/state-json.js';
import type { CommandResult, MasterCommand } from './commands.js';
import type { MasterMetrics } from './metrics.js';
import { ProposeError, type Proposer } from './proposer.js';
import type { MasterStateMachine } from './state-machine.js';
import { tokenMatches } from './token.js';
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

const MAX_BODY = 1 << 20;

/** An error answer: status, message, and extra fields for the JSON body. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

type Handler = (req: IncomingMessage, params: string[], url: URL) => Promise<[number, unknown]>;

interface Route {
  pattern: RegExp;
  methods: Record<string, Handler>;
  /** Changes state: needs the token when one is configured. */
  mutating?: readonly string[];
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `body: larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'body: empty, expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `body: not valid JSON (${(e as Error).message})`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function createHttpApi(deps: HttpApiDeps): Server {
  const { node, sm, proposer } = deps;

  /** The current state after a ReadIndex: what the leader had committed when we asked. */
  async function current(): Promise<Ipam> {
    try {
      await node.read();
    } catch (e) {
      throw new HttpError(503, `no current state: ${(e as Error).message}`);
    }
    if (!sm.ipam)
      throw new HttpError(503, 'the overlay replicated log holds no network config yet');
    return sm.ipam;
  }

  async function propose(command: MasterCommand): Promise<CommandResult> {
    try {
      return await proposer.propose(command);
    } catch (e) {
      if (e instanceof ProposeError) {
        throw new HttpError(
          e.kind === 'unavailable' ? 503 : e.kind === 'rejected' ? 429 : 504,
          e.kind === 'unknown'
            ? `${e.message} (the change may or may not have been made)`
            : e.message,
        );
      }
      throw e;
    }
  }

  function failed(r: CommandResult): never {
    if (r.ok) throw new Error('not a failure');
    const status =
      r.code === 'UNKNOWN_OVERLAY' || r.code === 'UNKNOWN_NODE'
        ? 404
        : r.code === 'OVERLAY_HELD' || r.code === 'OVERLAY_EXISTS' || r.code === 'CONFIG_CONFLICT'
          ? 409
          : r.code === 'NO_CONFIG'
            ? 503
            : 400;
    const extra: Record<string, unknown> = { code: r.code };
    if (r.holders) extra.holders = r.holders;
    if (r.conflicts) extra.conflicts = r.conflicts;
    throw new HttpError(status, r.message, extra);
  }

  function overlayOf(ipam: Ipam, name: string) {
    const view = overlayViews(ipam).find((o) => o.name === name);
    if (!view) throw new HttpError(404, `no overlay named "${name}"`);
    return view;
  }

  /** Checks an overlay body with the config rules, naming the field that is wrong. */
  function checkOverlayBody(ipam: Ipam, body: unknown): OverlayConfig {
    if (!isObject(body)) throw new HttpError(400, 'body: expected a JSON object (an overlay)');
    const others = ipam.config.overlays.filter((o) => o.name !== body.name);
    const index = others.length;
    const checked = validateNetworkConfig({ ...ipam.config, overlays: [...others, body] });
    if (!checked.ok) {
      const issues = checked.issues.map((i) => {
        const path = i.path[0] === 'overlays' && i.path[1] === index ? i.path.slice(2) : i.path;
        return formatIssue({ ...i, path, line: undefined, column: undefined });
      });
      throw new HttpError(400, issues.join('; '), { issues });
    }
    return body as unknown as OverlayConfig;
  }

  const routes: Route[] = [
    {
      pattern: /^\/health$/,
      methods: {
        GET: async () => {
          const s = node.status();
          const body = {
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
            throw new HttpError(400, 'agents: expected {"agents": ["ip", ...]}');
          }
          const ips = body.agents.map((ip, i) => {
            if (typeof ip !== 'string') throw new HttpError(400, `agents[${i}]: expected a string`);
            try {
              return normalizeNodeIp(ip);
            } catch {
              throw new HttpError(
                400,
                `agents[${i}]: ${JSON.stringify(ip)} is not an IPv4 address`,
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
            throw new HttpError(400, (e as Error).message);
          }
          const n = ipam.getNode(key);
          if (!n) throw new HttpError(404, `node ${key} is not registered`);
          return [200, nodeView(ipam, n)];
        },
      },
    },
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://master');
    if (url.pathname === '/metrics') {
      if (req.method !== 'GET') throw new HttpError(405, 'use GET', {}, { allow: 'GET' });
      const text = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
      res.end(text);
      return;
    }
    for (const route of routes) {
      const m = route.pattern.exec(url.pathname);
      if (!m) continue;
      if (!deps.ready() && url.pathname !== '/health') {
        throw new HttpError(503, 'the master is starting: catching up with the other masters');
      }
      const method = req.method ?? 'GET';
      const handler = route.methods[method];
      if (!handler) {
        const allow = Object.keys(route.methods).join(', ');
        throw new HttpError(405, `use ${allow}`, {}, { allow });
      }
      if (route.mutating?.includes(method) && deps.token !== undefined) {
        const auth = req.headers.authorization;
        if (typeof auth !== 'string' || !tokenMatches(auth, deps.token)) {
          throw new HttpError(
            401,
            'a bearer token is required (Authorization: Bearer <token>)',
            {},
            {
              'www-authenticate': 'Bearer',
            },
          );
        }
      }
      const params = m.slice(1).map((p) => decodeURIComponent(p));
      const [status, body] = await handler(req, params, url);
      send(res, status, body);
      return;
    }
    throw new HttpError(404, `no such endpoint: ${url.pathname}`);
  }

  return createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (e instanceof HttpError) {
        send(res, e.status, { error: e.message, ...e.extra }, e.headers);
      } else {
        send(res, 500, { error: `internal error: ${(e as Error).message}` });
      }
      // Drain what is left of a refused body so the connection stays usable.
      req.resume();
    });
  });
}

function parseBool(v: string | null, name: string): boolean {
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new HttpError(400, `${name}: expected true or false, got ${JSON.stringify(v)}`);
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
