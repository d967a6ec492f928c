// The server's figures as a prom-client registry of its own (no global default registry), for an
// embedder to serve at /metrics or to merge into its registry with Registry.merge().
import { Counter, Gauge, Registry } from 'prom-client';
import type { MetricsSnapshot } from './metrics.js';

interface HasMetrics {
  metrics(): MetricsSnapshot;
}

export function prometheusRegistry(server: HasMetrics, prefix = 'navstar_'): Registry {
  const registry = new Registry();
  let snap: MetricsSnapshot | undefined;
  /** One snapshot per scrape: the first collector takes it, the rest reuse it. */
  const current = () => {
    snap ??= server.metrics();
    queueMicrotask(() => {
      snap = undefined;
    });
    return snap;
  };
  // prom-client counters only go up; each collect adds what the snapshot gained since the last.
  const counter = (
    name: string,
    help: string,
    labelNames: string[],
    read: (s: MetricsSnapshot) => Array<[Record<string, string>, number]>,
  ) => {
    const last = new Map<string, number>();
    new Counter({
      name: prefix + name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        for (const [labels, value] of read(current())) {
          const k = JSON.stringify(labels);
          const d = value - (last.get(k) ?? 0);
          if (d > 0) this.inc(labels, d);
          else if (!last.has(k)) this.inc(labels, 0);
          last.set(k, value);
        }
      },
    });
  };
  const gauge = (name: string, help: string, read: (s: MetricsSnapshot) => number) => {
    new Gauge({
      name: prefix + name,
      help,
      registers: [registry],
      collect() {
        this.set(read(current()));
      },
    });
  };
  counter('queries_total', 'DNS queries received', ['transport'], (s) => [
    [{ transport: 'udp' }, s.queries.udp],
    [{ transport: 'tcp' }, s.queries.tcp],
  ]);
  counter('responses_total', 'DNS responses sent, by RCODE', ['rcode'], (s) =>
    Object.entries(s.responses).map(([rcode, v]) => [{ rcode }, v]),
  );
  counter('authoritative_total', 'Queries answered from the zones', [], (s) => [
    [{}, s.authoritative],
  ]);
  counter('forwarded_total', 'Queries handed to forwarding', [], (s) => [[{}, s.forwarded]]);
  counter('dropped_total', 'Packets that got no response', [], (s) => [[{}, s.dropped]]);
  counter('malformed_total', 'Malformed packets (dropped or FORMERR)', [], (s) => [
    [{}, s.malformed],
  ]);
  counter('truncated_total', 'Responses sent truncated (TC)', [], (s) => [[{}, s.truncated]]);
  counter('cache_hits_total', 'Forwarded queries answered from the cache', [], (s) => [
    [{}, s.cache.hits],
  ]);
  counter('cache_misses_total', 'Forwarded queries not in the cache', [], (s) => [
    [{}, s.cache.misses],
  ]);
  counter('upstream_queries_total', 'Queries sent to upstream resolvers', [], (s) => [
    [{}, s.upstream.queries],
  ]);
  counter('upstream_timeouts_total', 'Upstream attempts that timed out', [], (s) => [
    [{}, s.upstream.timeouts],
  ]);
  counter('upstream_errors_total', 'Upstream attempts with a bad or failed answer', [], (s) => [
    [{}, s.upstream.errors],
  ]);
  counter('forward_failures_total', 'Forwarded queries answered SERVFAIL', [], (s) => [
    [{}, s.forwardFailures + s.forwardOverload],
  ]);
  counter('send_errors_total', 'Responses that could not be sent', [], (s) => [[{}, s.sendErrors]]);
  counter('internal_errors_total', 'Exceptions caught on the packet path', [], (s) => [
    [{}, s.internalErrors],
  ]);
  counter('tcp_connections_total', 'TCP connections accepted', [], (s) => [[{}, s.tcpConnections]]);
  gauge('qps', `Queries per second over the last seconds`, (s) => s.qps);
  gauge('cache_entries', 'Entries in the forwarding cache', (s) => s.cache.entries);
  gauge('tasks', 'Task instances in the record store', (s) => s.records.tasks);
  gauge('names', 'Names in the zones', (s) => s.records.names);
  gauge('zone_serial', 'SOA serial of the zones', (s) => s.records.serial);
  return registry;
}
