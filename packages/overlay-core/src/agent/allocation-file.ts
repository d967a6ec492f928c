// The last allocation the masters gave this node, kept in the agent's data dir so that a
// restarted agent can check its devices at once, before (or without) reaching a master. The file
// holds the Allocation message as it came; it is parsed like one.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Allocation__Output } from '../protocol/messages.js';
import { type NodeAllocation, parseAllocation } from '../protocol/node-allocation.js';

const FILE = 'allocation.json';

export async function loadAllocation(dataDir: string): Promise<NodeAllocation | undefined> {
  const path = join(dataDir, FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return parseAllocation(JSON.parse(text) as Allocation__Output);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}; remove it to start afresh`);
  }
}

/** Writes atomically (a temporary file renamed over the old one). */
export async function saveAllocation(dataDir: string, a: NodeAllocation): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, FILE);
  await writeFile(`${path}.tmp`, `${JSON.stringify(a.message, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}
