// `vnet cni install`: puts the vnet CNI plugin on a CNI path, as an executable `vnet` launcher
// that runs this installation's bin/vnet-cni.js with this Node.
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

export const DEFAULT_CNI_BIN_DIR = '/opt/cni/bin';

/** Writes `<binDir>/vnet` atomically; returns its path. */
export async function installCniPlugin(binDir: string): Promise<string> {
  const entry = fileURLToPath(new URL('../../../bin/vnet-cni.js', import.meta.url));
  const quoteSh = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const text = `#!/bin/sh\n# vnet CNI plugin (written by \`vnet cni install\`)\nexec ${quoteSh(process.execPath)} ${quoteSh(entry)} "$@"\n`;
  await mkdir(binDir, { recursive: true });
  const file = join(binDir, 'vnet');
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await chmod(tmp, 0o755);
  await rename(tmp, file);
  return file;
}

export function addCniCommand(program: Command): void {
  const cni = program.command('cni').description("vnet's CNI plugin");
  cni
    .command('install')
    .description('install the `vnet` CNI plugin (a launcher) into a CNI bin dir')
    .option('--bin-dir <dir>', 'CNI plugin dir', DEFAULT_CNI_BIN_DIR)
    .action(async (o: { binDir: string }) => {
      process.stdout.write(`${await installCniPlugin(o.binDir)}\n`);
    });
}
