// navstar on an agent: one server per address containers (and the node) reach it at, sharing one
// record store fed from gossip. Containers use their bridge's gateway as their resolver (the CNI
// result and the Docker network hand it out), so the set of addresses follows the bridges the
// data plane holds: a server starts when a gateway appears and stops when it goes. A failure to
// bind is logged and tried again on the next update; DNS never stops the agent.
import { NavstarServer, type RecordStore } from '@vnet/navstar';
import type { Logger } from 'pino';

export interface AgentDnsOptions {
  store: RecordStore;
  /** UDP and TCP port of every address. */
  port: number;
  /** Addresses served whatever the bridges (e.g. 127.0.0.1 for the node itself). */
  listen: string[];
  /** Resolvers for every name outside our zones ("ip" or "ip:port"). */
  upstreams: string[];
  log: Logger;
}

export class AgentDns {
  private readonly servers = new Map<string, NavstarServer>();
  private wanted: string[] = [];
  private updating: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: AgentDnsOptions) {}

  /** Serves the fixed addresses and `gateways` (what is bound already stays). */
  update(gateways: readonly string[]): Promise<void> {
    this.wanted = [...new Set([...this.opts.listen, ...gateways])];
    this.updating = this.updating.then(() => this.apply());
    return this.updating;
  }

  /** The addresses served now. */
  get addresses(): string[] {
    return [...this.servers.keys()];
  }

  private async apply(): Promise<void> {
    if (this.closed) return;
    const wanted = new Set(this.wanted);
    for (const [address, server] of [...this.servers]) {
      if (wanted.has(address)) continue;
      this.servers.delete(address);
      await server.close();
      this.opts.log.info({ address }, 'DNS stopped on a bridge that is gone');
    }
    for (const address of wanted) {
      if (this.servers.has(address)) continue;
      try {
        const server = await NavstarServer.start({
          store: this.opts.store,
          listen: [{ address, port: this.opts.port }],
          upstreams: this.opts.upstreams,
          onError: (e) => this.opts.log.warn({ address, err: e.message }, 'DNS server error'),
        });
        this.servers.set(address, server);
        this.opts.log.info({ address, port: this.opts.port }, 'serving DNS');
      } catch (e) {
        this.opts.log.warn({ address, err: (e as Error).message }, 'could not serve DNS there yet');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.updating;
    await Promise.all([...this.servers.values()].map((s) => s.close()));
    this.servers.clear();
  }
}
