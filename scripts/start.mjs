#!/usr/bin/env node
// `npm start`: the main job. Sets up (Debian packages, npm ci, build), then checks the shipped
// example config and shows the capacity it gives. Extra arguments go to `vnet config check`.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const node = (args) =>
  spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root }).status ?? 1;

const setup = node([join(root, 'scripts', 'setup.mjs')]);
if (setup !== 0) process.exit(setup);
const args = process.argv.slice(2);
const cli = join(root, 'packages', 'overlay-core', 'dist', 'src', 'cli', 'main.js');
process.exit(node([cli, 'config', 'check', ...(args.length ? args : ['examples/config.yaml'])]));
