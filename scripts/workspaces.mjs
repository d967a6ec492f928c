// The workspaces of the root package.json, with "dir/*" patterns expanded (Node built-ins only).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** [{dir, pkg}] for every workspace folder holding a package.json, in a stable order. */
export function listWorkspaces(root) {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dirs = [];
  for (const pattern of rootPkg.workspaces ?? []) {
    if (pattern.endsWith('/*')) {
      const parent = pattern.slice(0, -2);
      for (const name of readdirSync(join(root, parent)).sort()) dirs.push(`${parent}/${name}`);
    } else dirs.push(pattern);
  }
  return dirs
    .filter((dir) => existsSync(join(root, dir, 'package.json')))
    .map((dir) => ({
      dir,
      pkg: JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')),
    }));
}
