// The last allocation the masters gave this node, kept in the agent's data dir so that a
// restarted agent can check its devices at once, before (or without) reaching a master. The file
// holds the Allocation message as it came; it is parsed like one.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Allocation__Output } from '../protocol/messages.js';
import { type NodeAllocation, parseAllocation } from '../protocol/node-allocation.js';
import { JsonFile } from './json-file.js';

export class AllocationStore {
  private readonly file: JsonFile;

  constructor(dataDir: string, log: Logger) {
    this.file = new JsonFile(join(dataDir, 'allocation.json'), log, 'the allocation');
  }

  async load(): Promise<NodeAllocation | undefined> {
    const text = await this.file.read();
    if (text === undefined) return undefined;
    try {
      return parseAllocation(JSON.parse(text) as Allocation__Output);
    } catch (e) {
      throw new Error(`${this.file.path}: ${(e as Error).message}; remove it to start afresh`);
    }
  }

  /** Writes `a` after any write under way (failures are logged: the agent goes on). */
  save(a: NodeAllocation): void {
    this.file.save(a.message);
  }
}
