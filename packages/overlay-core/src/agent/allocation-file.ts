// The last allocation the masters gave this node, kept in the agent's data dir so that a
// restarted agent can check its devices at once, before (or without) reaching a master.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Allocation } from './registration.js';

const FILE = 'allocation.json';

export async function loadAllocation(dataDir: string): Promise<Allocation | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const v = JSON.parse(text) as Allocation;
    if (typeof v?.agent?.ip !== 'string' || typeof v.network?.vtep_subnet !== 'string') {
      throw new Error('not an allocation');
    }
    return v;
  } catch (e) {
    throw new Error(`${join(dataDir, FILE)}: ${(e as Error).message}; remove it to start afresh`);
  }
}

/** Writes atomically (a temporary file renamed over the old one). */
export async function saveAllocation(dataDir: string, a: Allocation): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, FILE);
  await writeFile(`${path}.tmp`, `${JSON.stringify(a, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}
