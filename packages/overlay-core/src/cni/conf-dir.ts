// Keeps a CNI conf dir holding exactly the desired vnet config lists. vnet owns only files named
// `vnet-<overlay>.conflist` (and its own leftover temporary files); everything else in the dir
// belongs to other runtimes and is never touched. A file is replaced atomically (a hidden
// temporary file renamed over it, which CNI runtimes skip: they read only .conf, .conflist and
// .json), and only when its content changes, so a runtime never sees a half-written list.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CniConfList } from './spec.js';

const OWNED = /^vnet-[a-z0-9][a-z0-9_-]*\.conflist$/;
const OWNED_TMP = /^\.vnet-[a-z0-9][a-z0-9_-]*\.conflist\.[0-9a-f]+\.tmp$/;

/** The file of an overlay's config list. */
export const confListFileName = (network: string): string => `vnet-${network}.conflist`;

/** The text vnet writes for a list (stable, so unchanged lists compare equal). */
export const renderConfList = (list: CniConfList): string => `${JSON.stringify(list, null, 2)}\n`;

export interface SyncResult {
  /** File names written (new or changed). */
  written: string[];
  /** File names removed (overlays no longer desired). */
  removed: string[];
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function writeAtomic(dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, join(dir, name));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Writes the desired lists into `dir` (created if missing) and removes vnet's others. */
export async function syncCniConfigs(
  dir: string,
  desired: readonly CniConfList[],
): Promise<SyncResult> {
  await mkdir(dir, { recursive: true });
  const want = new Map(desired.map((l) => [confListFileName(l.name), renderConfList(l)]));
  const written: string[] = [];
  const removed: string[] = [];
  for (const [name, text] of want) {
    if (!OWNED.test(name)) throw new Error(`CNI network name ${JSON.stringify(name)} is not valid`);
    if ((await readOrUndefined(join(dir, name))) === text) continue;
    await writeAtomic(dir, name, text);
    written.push(name);
  }
  for (const name of (await readdir(dir)).sort()) {
    if (OWNED.test(name) && !want.has(name)) {
      await rm(join(dir, name), { force: true });
      removed.push(name);
    } else if (OWNED_TMP.test(name)) {
      // A temporary file of a writer that died between write and rename.
      await rm(join(dir, name), { force: true });
    }
  }
  return { written, removed };
}

/** One address host-local holds for a container. */
export interface CniLease {
  ip: string;
  containerId: string;
  ifname: string;
}

/**
 * The leases host-local holds on one network (`<dataDir>/<network>/<ip>`, each holding
 * `<container id>\r\n<ifname>`): the addresses in use in the node's CNI half, for the agent's
 * address usage and exhaustion, and to drop reported tasks whose lease is gone.
 */
export async function readCniLeases(dataDir: string, network: string): Promise<CniLease[]> {
  const dir = join(dataDir, network);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const leases: CniLease[] = [];
  // Lease files are named by the address; `lock` and `last_reserved_ip.N` are host-local's own.
  for (const ip of names.filter((n) => /^[0-9.]+$|:/.test(n)).sort()) {
    const text = await readOrUndefined(join(dir, ip));
    if (text === undefined) continue; // released meanwhile
    const [containerId = '', ifname = ''] = text.split(/\r?\n/);
    leases.push({ ip, containerId: containerId.trim(), ifname: ifname.trim() });
  }
  return leases;
}
