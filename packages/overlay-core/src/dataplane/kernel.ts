// The thin I/O side of the data plane: dumps what the kernel holds (through @vnet/netlink-ffi,
// never `ip`), submits the operations the diff computed, writes sysctls, and replaces vnet's
// nftables table with `nft -f` (one file, one transaction).
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import {
  type Netlink,
  NetlinkError,
  type Operation,
  type OperationResult,
} from '@vnet/netlink-ffi';
import { VTEP_NAME } from '../protocol/allocation.js';
import type { KernelState, Sysctl } from './types.js';

async function orEmpty<T>(p: Promise<T[]>): Promise<T[]> {
  try {
    return await p;
  } catch (e) {
    // Neighbours and FDB entries of a vtep1024 that does not exist (yet).
    if (e instanceof NetlinkError && e.code === 'ENODEV') return [];
    throw e;
  }
}

/** What the agent needs of a kernel: the seam it is tested through (an in-memory model in tests). */
export interface Kernel {
  dump(): Promise<KernelState>;
  /** Runs operations in order; each gets its own result (a failure does not stop the rest). */
  apply(operations: Operation[]): Promise<OperationResult[]>;
  /** Writes sysctls; returns the ones that failed, with why. */
  sysctls(list: readonly Sysctl[]): Promise<string[]>;
  /** Replaces vnet's nftables table unless the same file was applied last (`force`: anyway). */
  nftables(file: string, force?: boolean): Promise<boolean>;
}

export class KernelAdapter implements Kernel {
  private lastNft: string | undefined;

  constructor(
    readonly nl: Netlink,
    private readonly nftBinary = 'nft',
  ) {}

  async dump(): Promise<KernelState> {
    const links = await this.nl.links.list();
    const hasVtep = links.some((l) => l.name === VTEP_NAME);
    return {
      links,
      addresses: await this.nl.addresses.list(),
      neighbours: hasVtep ? await orEmpty(this.nl.neighbours.list({ dev: VTEP_NAME })) : [],
      fdb: hasVtep ? await orEmpty(this.nl.fdb.list({ dev: VTEP_NAME })) : [],
      nexthops: await this.nl.nexthops.list(),
      routes: await this.nl.routes.list({ table: 0 }),
      rules: [...(await this.nl.rules.list(4)), ...(await this.nl.rules.list(6))],
    };
  }

  apply(operations: Operation[]): Promise<OperationResult[]> {
    return operations.length === 0 ? Promise.resolve([]) : this.nl.batch(operations);
  }

  /** Writes sysctls of this network namespace; returns the ones that failed, with why. */
  async sysctls(list: readonly Sysctl[]): Promise<string[]> {
    const failed: string[] = [];
    for (const s of list) {
      const path = `/proc/sys/${s.key.replaceAll('.', '/')}`;
      try {
        await writeFile(path, `${s.value}\n`);
      } catch (e) {
        failed.push(`sysctl ${s.key}=${s.value} (${s.reason}): ${(e as Error).message}`);
      }
    }
    return failed;
  }

  /**
   * Replaces the `inet vnet` table with `nft -f -`, unless the same file was applied last time
   * (`force` re-applies, e.g. on the periodic pass, in case someone changed the table).
   */
  async nftables(file: string, force = false): Promise<boolean> {
    if (!force && file === this.lastNft) return false;
    await new Promise<void>((resolve, reject) => {
      const child = spawn(this.nftBinary, ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.once('error', (e) => reject(new Error(`nft: ${e.message}`)));
      child.once('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`nft -f exited with ${code}: ${stderr.trim()}`)),
      );
      child.stdin.end(file);
    });
    this.lastNft = file;
    return true;
  }
}
