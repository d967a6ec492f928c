// A closed-loop gRPC put load generator shared by both systems under test: `concurrency` workers
// each send one unary Put at a time for `durationMs`; latencies are recorded per request.
import * as grpc from '@grpc/grpc-js';
import { percentile } from '@vnet/testkit';

export interface Target {
  address: string;
  /** Full method path, e.g. /etcdserverpb.KV/Put. */
  path: string;
  /** Encodes one put request. */
  encode(key: string, value: Buffer): Buffer;
}

export interface LoadResult {
  writes: number;
  errors: number;
  seconds: number;
  writesPerSec: number;
  p50: number;
  p99: number;
  /** Every measured request's latency (ms), sorted. */
  latencies: number[];
}

/** Sums runs of one system (e.g. slices interleaved with another system's) into one result. */
export function mergeResults(runs: LoadResult[]): LoadResult {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  return summarize(
    latencies,
    runs.reduce((n, r) => n + r.errors, 0),
    seconds,
  );
}

function summarize(latencies: number[], errors: number, seconds: number): LoadResult {
  return {
    writes: latencies.length,
    errors,
    seconds,
    writesPerSec: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    latencies,
  };
}

const bytes = (b: Buffer) => b;

export async function runLoad(
  target: Target,
  concurrency: number,
  durationMs: number,
  warmupMs = 1000,
): Promise<LoadResult> {
  const conns = Array.from(
    { length: Math.min(concurrency, 4) },
    () => new grpc.Client(target.address, grpc.credentials.createInsecure()),
  );
  const value = Buffer.alloc(256, 'v');
  let seq = 0;
  const put = (c: grpc.Client) =>
    new Promise<void>((resolve, reject) => {
      const key = `key${String(seq++).padStart(12, '0')}`;
      c.makeUnaryRequest(
        target.path,
        bytes,
        bytes,
        target.encode(key, value),
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  const lat: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const worker = async (w: number) => {
    const c = conns[w % conns.length]!;
    while (!stop) {
      const t0 = performance.now();
      try {
        await put(c);
        if (measuring) lat.push(performance.now() - t0);
      } catch {
        if (measuring) errors++;
      }
    }
  };
  const workers = Array.from({ length: concurrency }, (_, w) => worker(w));
  await new Promise((r) => setTimeout(r, warmupMs));
  measuring = true;
  const start = performance.now();
  await new Promise((r) => setTimeout(r, durationMs));
  measuring = false;
  const seconds = (performance.now() - start) / 1000;
  stop = true;
  await Promise.all(workers);
  for (const c of conns) c.close();
  lat.sort((a, b) => a - b);
  return summarize(lat, errors, seconds);
}
