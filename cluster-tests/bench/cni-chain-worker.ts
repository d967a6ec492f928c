// The CNI half of the containers bench, run inside a host namespace (`nsenter --net`, started by
// bench/containers.ts) so that the plugins make their bridges and veths there: CNI ADD and DEL of
// two config lists through overlay-core's chain executor (libcni's runtime half), each run on a
// fresh container namespace, alternating which list goes first. Reads its job as JSON on stdin,
// prints one JSON line `{ours: {add, del}, bare: {add, del}}` (milliseconds per run).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  addNetworkList,
  type CniConfList,
  type CniResult,
  type CniRuntimeConf,
  delNetworkList,
} from '@vnet/overlay-core';

export interface ChainJob {
  /** vnet's config list as the agent wrote it (its file). */
  oursFile: string;
  /** The bare `bridge` + `host-local` list. */
  bare: CniConfList;
  cniPath: string[];
  /** Measured runs of each list (after one warm-up each). */
  runs: number;
  /** Container namespace name (one at a time, made and deleted per run). */
  netns: string;
}

export type ChainTimes = Record<'ours' | 'bare', { add: number[]; del: number[] }>;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

async function once(list: CniConfList, job: ChainJob, n: number): Promise<[number, number]> {
  ip('netns', 'add', job.netns);
  try {
    ip('-n', job.netns, 'link', 'set', 'lo', 'up');
    // What `vnet task run` hands the chain (no ports: portmap still runs, with nothing to map).
    const rt: CniRuntimeConf = {
      containerId: randomBytes(6).toString('hex'),
      netns: `/var/run/netns/${job.netns}`,
      ifname: 'eth0',
      args: [
        ['IgnoreUnknown', '1'],
        ['VNET_TASK', `bench${n}`],
        ['VNET_FRAMEWORK', 'bench'],
      ],
      capabilityArgs: { portMappings: [] },
    };
    const opts = { cniPath: job.cniPath };
    const t0 = performance.now();
    let result: CniResult;
    try {
      result = await addNetworkList(list, rt, opts);
    } catch (e) {
      // A failed ADD may have taken a lease or made a veth: DEL, as a runtime does.
      await delNetworkList(list, rt, undefined, opts).catch(() => {});
      throw e;
    }
    const t1 = performance.now();
    await delNetworkList(list, rt, result, opts);
    return [t1 - t0, performance.now() - t1];
  } finally {
    ip('netns', 'del', job.netns);
  }
}

const job = JSON.parse(readFileSync(0, 'utf8')) as ChainJob;
const ours = JSON.parse(readFileSync(job.oursFile, 'utf8')) as CniConfList;
const lists = { ours, bare: job.bare };
const times: ChainTimes = { ours: { add: [], del: [] }, bare: { add: [], del: [] } };
// Warm-up: the first ADD of a list creates its bridge; the page cache gets the plugins.
await once(ours, job, 0);
await once(job.bare, job, 0);
for (let i = 0; i < job.runs; i++) {
  const order = i % 2 === 0 ? (['ours', 'bare'] as const) : (['bare', 'ours'] as const);
  for (const which of order) {
    const [add, del] = await once(lists[which], job, i + 1);
    times[which].add.push(add);
    times[which].del.push(del);
  }
}
process.stdout.write(`${JSON.stringify(times)}\n`);
