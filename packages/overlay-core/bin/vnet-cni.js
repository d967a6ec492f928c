#!/usr/bin/env node
// The `vnet` CNI plugin (run by CNI runtimes with CNI_COMMAND set; `vnet cni install` puts a
// launcher for it on a CNI path). Loads the compiled plugin and nothing else, for start-up time.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cni/plugin-main.js', import.meta.url);
if (!existsSync(main)) {
  const msg = 'vnet CNI plugin is not built yet: run `npm run build` at the repository root';
  process.stdout.write(`${JSON.stringify({ cniVersion: '1.0.0', code: 5, msg })}\n`);
  process.exit(1);
}
await import(main.href);
