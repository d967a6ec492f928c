// A file in the agent's data dir holding one JSON document: writes are atomic (a temporary file
// renamed over the old one), one at a time, and an unchanged text is not written again. A failed
// write is logged; the agent goes on with what it holds in memory.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

export class JsonFile {
  private written = '';
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly log: Logger,
    /** What the file holds, for the log ("the allocation"). */
    private readonly what: string,
  ) {}

  /** The file's text, or undefined when there is none. */
  async read(): Promise<string | undefined> {
    try {
      const text = await readFile(this.path, 'utf8');
      this.written = text;
      return text;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Writes `value` after any write under way. */
  save(value: unknown): void {
    const text = `${JSON.stringify(value, null, 2)}\n`;
    this.writing = this.writing.then(async () => {
      if (text === this.written) return;
      try {
        await mkdir(dirname(this.path), { recursive: true });
        await writeFile(`${this.path}.tmp`, text);
        await rename(`${this.path}.tmp`, this.path);
        this.written = text;
      } catch (e) {
        this.log.error({ err: e }, `could not save ${this.what}`);
      }
    });
  }

  /** Resolves once every write asked for so far has ended. */
  flushed(): Promise<void> {
    return this.writing;
  }
}
