#!/usr/bin/env node
// The `vnet` command line.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { addAgentCommand } from './agent.js';
import { addCniCommand } from './cni.js';
import { configCheck, EXIT_INVALID } from './config-check.js';
import { positiveIntFlag } from './flags.js';
import { addMasterCommand } from './master.js';
import { ApiError, addOperatorCommands } from './operator.js';
import { addTaskCommand } from './task.js';

export function buildProgram(): Command {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  const program = new Command('vnet')
    .description('IP-per-container overlay networks for clusters')
    .version(pkg.version as string)
    .exitOverride()
    .showHelpAfterError();

  const config = program.command('config').description('overlay network configuration');
  config
    .command('check')
    .description(
      'validate a config.yaml (or a dcos_overlay_network block, YAML or JSON) and show its capacity',
    )
    .argument('<file>', 'DC/OS config.yaml, or a file holding only the dcos_overlay_network block')
    .option('--json', 'print the result as JSON')
    .option(
      '--underlay-mtu <bytes>',
      "MTU of the nodes' underlay interfaces",
      positiveIntFlag('a positive number of bytes'),
      1500,
    )
    .action(async (file: string, opts: { json?: boolean; underlayMtu: number }) => {
      const out = await configCheck(file, opts);
      process.stdout.write(out.stdout);
      process.stderr.write(out.stderr);
      process.exitCode = out.code;
    });
  addMasterCommand(program);
  addAgentCommand(program);
  addOperatorCommands(program);
  addCniCommand(program);
  addTaskCommand(program);
  return program;
}

// Output piped into `head` and the like: stop quietly when the reader goes away.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage errors (already printed) exit with EXIT_INVALID.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_INVALID;
  } else if (err instanceof ApiError) {
    process.stderr.write(`vnet: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`vnet: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
