// The agent's HTTP API: DC/OS's `GET /overlay-agent/overlay` (this node's AgentInfo, with the
// statuses of its own last reconcile), `GET /health` and `GET /metrics`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentHealth, AgentJson } from '../protocol/documents.js';
import type { AgentMetrics } from './metrics.js';

export interface AgentHttpDeps {
  metrics: AgentMetrics;
  view: () => AgentJson | undefined;
  health: () => AgentHealth;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function agentHttpHandler(deps: AgentHttpDeps) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    const routes = ['/overlay-agent/overlay', '/health', '/metrics'];
    if (!routes.includes(path)) {
      json(res, 404, { error: `no such endpoint: ${path}` });
      return;
    }
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      json(res, 405, { error: 'use GET' });
      return;
    }
    if (path === '/overlay-agent/overlay') {
      const view = deps.view();
      if (view) json(res, 200, view);
      else json(res, 503, { error: 'no allocation yet: the node has not registered' });
      return;
    }
    if (path === '/health') {
      const h = deps.health();
      json(res, h.registered && h.allocation && h.reconciled ? 200 : 503, h);
      return;
    }
    deps.metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
        res.end(text);
      },
      (e) => json(res, 500, { error: (e as Error).message }),
    );
  };
}
