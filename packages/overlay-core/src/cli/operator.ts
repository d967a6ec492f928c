// Operator commands against the masters' HTTP API: `vnet state`, `vnet overlay ...`,
// `vnet node ...`. Any master answers; the first one that can be reached is used.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { quote } from '../input.js';
import type {
  ErrorDocument,
  NodeView,
  OverlayDocument,
  OverlaysDocument,
  OverlayView,
  RemovedOverlayDocument,
  StateJson,
} from '../protocol/documents.js';
import { HTTP_RETRY_ELSEWHERE } from '../protocol/errors.js';
import { readTokenFile } from '../security/token.js';
import { prefixLengthFlag } from './flags.js';
import { renderTable } from './table.js';

interface ApiFlags {
  master: string[];
  tokenFile?: string;
  json?: boolean;
}

/** A failed request: the exit code is 1, the message goes to stderr. */
export class ApiError extends Error {
  override name = 'ApiError';
}

const DEFAULT_MASTER = process.env.VNET_MASTER ?? 'http://127.0.0.1:8080';

function parseMasters(value: string, previous: string[] | undefined): string[] {
  const list = value.split(',').map((s) => s.trim());
  for (const url of list) {
    try {
      const u = new URL(url.includes('://') ? url : `http://${url}`);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    } catch {
      throw new InvalidArgumentError(`${quote(url)} is not a master's HTTP address`);
    }
  }
  const base = previous && previous !== defaultMasters ? previous : [];
  return [...base, ...list.map((u) => (u.includes('://') ? u : `http://${u}`))];
}
const defaultMasters = DEFAULT_MASTER.split(',').map((u) =>
  u.includes('://') ? u : `http://${u}`,
);

function withApiOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--master <url>', "a master's HTTP address; repeat or comma-separate for several")
        .argParser(parseMasters)
        .default(defaultMasters, '$VNET_MASTER or http://127.0.0.1:8080'),
    )
    .option('--token-file <file>', 'bearer token for requests that change state (or $VNET_TOKEN)');
}

async function token(flags: ApiFlags): Promise<string | undefined> {
  if (flags.tokenFile) return readTokenFile(flags.tokenFile);
  return process.env.VNET_TOKEN || undefined;
}

async function request(
  flags: ApiFlags,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const headers: Record<string, string> = {};
  const t = await token(flags);
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const reasons: string[] = [];
  for (const base of flags.master) {
    let res: Response;
    try {
      res = await fetch(new URL(path, base), {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      const cause = (e as { cause?: Error }).cause;
      reasons.push(`${base}: ${cause?.message ?? (e as Error).message}`);
      continue;
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    if (HTTP_RETRY_ELSEWHERE.has(res.status) && flags.master.length > 1) {
      reasons.push(`${base}: ${errorText(parsed, res.status)}`);
      continue;
    }
    if (!res.ok) throw new ApiError(`${base}: ${errorText(parsed, res.status)}`);
    return parsed;
  }
  throw new ApiError(`no master answered:\n  ${reasons.join('\n  ')}`);
}

function errorText(body: unknown, status: number): string {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const b = body as ErrorDocument;
    const holders = b.holders?.length ? ` (held by ${b.holders.join(', ')})` : '';
    return `${status}: ${b.error}${holders}`;
  }
  return `${status}: ${String(body).trim()}`;
}

function print(flags: ApiFlags, value: unknown, human: () => string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

const pct = (used: number, total: number) =>
  total === 0 ? '-' : `${used}/${total} (${Math.round((100 * used) / total)}%)`;

function overlayTable(overlays: OverlayView[]): string {
  return renderTable(
    [
      'NAME',
      'SUBNET',
      'PREFIX',
      'ENABLED',
      'NODES',
      'BLOCKS USED',
      'MESOS ADDRS USED',
      'DOCKER ADDRS USED',
    ],
    overlays.map((o) => [
      o.name,
      [o.subnet, o.subnet6].filter(Boolean).join(' '),
      [o.prefix, o.prefix6]
        .filter((p) => p !== undefined)
        .map((p) => `/${p}`)
        .join(' '),
      o.enabled ? 'yes' : 'no',
      String(o.nodes) + (o.exhausted ? ` (+${o.exhausted} exhausted)` : ''),
      pct(
        o.blocks.v4?.used ?? o.blocks.v6?.used ?? 0,
        o.blocks.v4?.total ?? o.blocks.v6?.total ?? 0,
      ),
      pct(o.addresses.mesos.used, o.addresses.mesos.capacity),
      pct(o.addresses.docker.used, o.addresses.docker.capacity),
    ]),
  );
}

function nodeTable(nodes: NodeView[]): string {
  const rows: string[][] = [];
  for (const n of nodes) {
    const overlays = n.overlays.length ? n.overlays : [undefined];
    overlays.forEach((o, i) => {
      rows.push([
        i === 0 ? n.ip : '',
        i === 0 ? n.vtep_ip : '',
        i === 0 ? n.vtep_mac : '',
        o?.name ?? '-',
        [o?.subnet, o?.subnet6].filter(Boolean).join(' ') || '-',
        o?.addresses ? `${o.addresses.mesos.used}/${o.addresses.mesos.capacity}` : '-',
        o?.addresses ? `${o.addresses.docker.used}/${o.addresses.docker.capacity}` : '-',
        o ? `${o.status ?? '-'}${o.error ? `: ${o.error}` : ''}` : '',
      ]);
    });
  }
  return renderTable(
    ['NODE', 'VTEP IP', 'VTEP MAC', 'OVERLAY', 'SUBNET', 'MESOS USED', 'DOCKER USED', 'STATUS'],
    rows,
  );
}

export function addOperatorCommands(program: Command): void {
  withApiOptions(
    program
      .command('state')
      .description("the overlay state, as GET /overlay-master/state serves it (DC/OS's shape)")
      .option('--json', 'print the JSON document'),
  ).action(async (flags: ApiFlags) => {
    const state = (await request(flags, 'GET', '/overlay-master/state')) as StateJson;
    print(flags, state, () => {
      const net = state.network;
      const head = `vtep_subnet ${net.vtep_subnet}${net.vtep_subnet6 ? ` ${net.vtep_subnet6}` : ''}, vtep_mac_oui ${net.vtep_mac_oui}, ${state.agents?.length ?? 0} nodes`;
      const rows = (state.agents ?? []).flatMap((a) =>
        (a.overlays ?? []).map((o) => [
          a.ip ?? '-',
          o.info?.name ?? '-',
          [o.subnet, o.subnet6].filter(Boolean).join(' ') || '-',
          o.mesos_bridge?.ip ?? '-',
          o.docker_bridge?.ip ?? '-',
          o.backend?.vxlan?.vtep_ip ?? '-',
          o.backend?.vxlan?.vtep_mac ?? '-',
          o.state ? `${o.state.status}${o.state.error ? `: ${o.state.error}` : ''}` : '-',
        ]),
      );
      return `${head}\n${renderTable(['NODE', 'OVERLAY', 'SUBNET', 'MESOS BRIDGE', 'DOCKER BRIDGE', 'VTEP IP', 'VTEP MAC', 'STATUS'], rows)}`;
    });
  });

  const overlay = program
    .command('overlay')
    .description('list, add, enable, disable and remove overlays at runtime');
  withApiOptions(
    overlay
      .command('list')
      .description('overlays with their free and used blocks and addresses')
      .option('--json', 'print JSON'),
  ).action(async (flags: ApiFlags) => {
    const body = (await request(flags, 'GET', '/overlay-master/overlays')) as OverlaysDocument;
    print(
      flags,
      body,
      () =>
        `${overlayTable(body.overlays)}\nVTEP addresses used: ${pct(body.vtep.v4.used, body.vtep.v4.total)}`,
    );
  });
  withApiOptions(
    overlay
      .command('show')
      .description('one overlay: usage in total and per node')
      .argument('<name>')
      .option('--json', 'print JSON'),
  ).action(async (name: string, flags: ApiFlags) => {
    const body = (await request(
      flags,
      'GET',
      `/overlay-master/overlays/${encodeURIComponent(name)}`,
    )) as OverlayDocument;
    print(flags, body, () => {
      const rows = body.agents.map((a) => [
        a.ip,
        [a.subnet, a.subnet6].filter(Boolean).join(' ') || '-',
        a.addresses ? pct(a.addresses.mesos.used, a.addresses.mesos.capacity) : '-',
        a.addresses ? pct(a.addresses.docker.used, a.addresses.docker.capacity) : '-',
        `${a.status ?? '-'}${a.error ? `: ${a.error}` : ''}`,
      ]);
      return `${overlayTable([body])}\n\n${renderTable(['NODE', 'SUBNET', 'MESOS USED', 'DOCKER USED', 'STATUS'], rows)}`;
    });
  });
  withApiOptions(
    overlay
      .command('add')
      .description('add an overlay; every node gets a block of it without a restart')
      .argument('<name>')
      .option('--subnet <cidr>', 'IPv4 network of the overlay')
      .option('--prefix <n>', 'length of the IPv4 block each node gets', prefixLengthFlag)
      .option('--subnet6 <cidr>', 'IPv6 network of the overlay')
      .option(
        '--prefix6 <n>',
        'length of the IPv6 block each node gets (default 80)',
        prefixLengthFlag,
      )
      .option('--disabled', 'add it disabled (no blocks are handed out until enabled)')
      .option('--json', 'print JSON'),
  ).action(async (name: string, flags: ApiFlags & Record<string, unknown>) => {
    const body: Record<string, unknown> = { name };
    for (const k of ['subnet', 'prefix', 'subnet6', 'prefix6'] as const) {
      if (flags[k] !== undefined) body[k] = flags[k];
    }
    if (flags.disabled) body.enabled = false;
    const r = (await request(flags, 'POST', '/overlay-master/overlays', body)) as OverlayView;
    print(flags, r, () => `overlay ${r.name} added\n${overlayTable([r])}`);
  });
  for (const action of ['enable', 'disable'] as const) {
    withApiOptions(
      overlay
        .command(action)
        .description(
          action === 'enable'
            ? 'enable an overlay: nodes without a block of it get one'
            : 'disable an overlay: no new blocks; nodes keep the blocks they hold',
        )
        .argument('<name>')
        .option('--json', 'print JSON'),
    ).action(async (name: string, flags: ApiFlags) => {
      const r = (await request(
        flags,
        'POST',
        `/overlay-master/overlays/${encodeURIComponent(name)}/${action}`,
      )) as OverlayView;
      print(flags, r, () => `overlay ${r.name} ${action}d`);
    });
  }
  withApiOptions(
    overlay
      .command('remove')
      .description('remove an overlay; refused while nodes hold blocks of it, unless --force')
      .argument('<name>')
      .option('--force', 'remove it even though nodes hold blocks (they lose them)')
      .option('--json', 'print JSON'),
  ).action(async (name: string, flags: ApiFlags & { force?: boolean }) => {
    const q = flags.force ? '?force=true' : '';
    const r = (await request(
      flags,
      'DELETE',
      `/overlay-master/overlays/${encodeURIComponent(name)}${q}`,
    )) as RemovedOverlayDocument;
    print(
      flags,
      r,
      () =>
        `overlay ${r.removed} removed${r.holders.length ? `; ${r.holders.length} nodes lost their blocks` : ''}`,
    );
  });

  const node = program.command('node').description('list and delete nodes');
  withApiOptions(
    node
      .command('list')
      .description('nodes with their VTEP, blocks, address usage and status')
      .option('--json', 'print JSON'),
  ).action(async (flags: ApiFlags) => {
    const body = (await request(flags, 'GET', '/overlay-master/nodes')) as { nodes: NodeView[] };
    print(flags, body, () => nodeTable(body.nodes));
  });
  withApiOptions(
    node
      .command('delete')
      .description('forget nodes that are gone: frees their blocks and VTEP addresses')
      .argument('<ip...>', 'underlay IP of each node')
      .option('--json', 'print the state afterwards as JSON'),
  ).action(async (ips: string[], flags: ApiFlags) => {
    const before = (await request(flags, 'GET', '/overlay-master/state')) as StateJson;
    const known = new Set((before.agents ?? []).map((a) => a.ip));
    const state = await request(flags, 'POST', '/overlay-master/agents/delete', { agents: ips });
    print(flags, state, () =>
      ips
        .map((ip) => (known.has(ip) ? `node ${ip} deleted` : `node ${ip} was not registered`))
        .join('\n'),
    );
  });
}
