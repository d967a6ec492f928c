// Compiled files whose TypeScript source is gone (deleted or renamed): `tsc -b` never removes
// them, so a stale dist/test/x.test.js would still be run by tap. Node built-ins only.
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** What tsc writes for `name.ts`: the script, its declarations and their source maps. */
const OUTPUT = /^(.*)\.(js|js\.map|d\.ts|d\.ts\.map)$/;

/** Removes, under `<ws>/dist/<folder>`, every output of a `<ws>/<folder>/...ts` that is gone. */
export function removeStaleOutputs(ws, folders) {
  const removed = [];
  const visit = (dist, src) => {
    for (const entry of readdirSync(dist, { withFileTypes: true })) {
      const path = join(dist, entry.name);
      if (entry.isDirectory()) {
        visit(path, join(src, entry.name));
        if (readdirSync(path).length === 0) rmdirSync(path);
        continue;
      }
      const m = OUTPUT.exec(entry.name);
      if (m && !existsSync(join(src, `${m[1]}.ts`))) {
        rmSync(path);
        removed.push(path);
      }
    }
  };
  for (const folder of folders) {
    const dist = join(ws, 'dist', folder);
    if (existsSync(dist)) visit(dist, join(ws, folder));
  }
  return removed;
}
