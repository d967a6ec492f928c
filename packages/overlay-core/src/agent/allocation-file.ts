// The last allocation the masters gave this node, kept in the agent's data dir so that a
// restarted agent can check its devices at once, before (or without) reaching a master. The file
// holds the Allocation message as it came; it is parsed like one. Writes are atomic (a temporary
// file renamed over the old one) and one at a time; an unchanged allocation is not written again.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Allocation__Output } from '../protocol/messages.js';
import { type NodeAllocation, parseAllocation } from '../protocol/node-allocation.js';

const FILE = 'allocation.json';

export class AllocationStore {
  private readonly path: string;
  private written = '';
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {
    this.path = join(dataDir, FILE);
  }

  async load(): Promise<NodeAllocation | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const a = parseAllocation(JSON.parse(text) as Allocation__Output);
      this.written = text;
      return a;
    } catch (e) {
      throw new Error(`${this.path}: ${(e as Error).message}; remove it to start afresh`);
    }
  }

  /** Writes `a` after any write under way (failures are logged: the agent goes on). */
  save(a: NodeAllocation): void {
    const text = `${JSON.stringify(a.message, null, 2)}\n`;
    this.writing = this.writing.then(async () => {
      if (text === this.written) return;
      try {
        await mkdir(this.dataDir, { recursive: true });
        await writeFile(`${this.path}.tmp`, text);
        await rename(`${this.path}.tmp`, this.path);
        this.written = text;
      } catch (e) {
        this.log.error({ err: e }, 'could not save the allocation');
      }
    });
  }
}
