// Fresh network namespaces for the real-kernel tests, named vdp<pid>-<tag>, always removed (tap
// teardown runs on failure too); namespaces of earlier runs whose process is gone are swept.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { Test } from 'tap';

const PREFIX = 'vdp';

function sweepStale(): void {
  let names: string[] = [];
  try {
    names = readdirSync('/var/run/netns');
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    }
  }
}

/** Creates a namespace that is deleted when `t` ends. */
export function netns(t: Test, tag: string): string {
  sweepStale();
  const name = `${PREFIX}${process.pid}-${tag}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.teardown(() => {
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  });
  return name;
}

/** Runs a command inside the namespace and returns stdout (throws on failure). */
export function inNetns(ns: string, cmd: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' });
}

export const isRoot = process.getuid?.() === 0;
