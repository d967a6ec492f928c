#!/usr/bin/env node
// The `vnet` command. A committed launcher (not dist/ itself) so that `npm ci`, which runs before
// the first build, can link it; it loads the compiled CLI.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'vnet: not built yet; run `npm run build` (or `npm start`) at the repository root\n',
  );
  process.exit(1);
}
await import(main.href);
