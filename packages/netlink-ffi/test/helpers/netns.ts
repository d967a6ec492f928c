// Fresh network namespaces for tests, named with this process's pid, always removed (tap
// teardown runs on failure too), plus iproute2 as the oracle (`ip -j`, `bridge -j`).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { Test } from 'tap';

const PREFIX = 'nlt';
let counter = 0;

/** Removes namespaces left by earlier test processes that died (their pid is gone). */
function sweepStale(): void {
  let names: string[] = [];
  try {
    names = readdirSync('/var/run/netns');
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^nlt(\d+)-/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    }
  }
}
sweepStale();

/** Creates a namespace that is deleted when `t` ends. */
export function netns(t: Test, tag = 'n'): string {
  const name = `${PREFIX}${process.pid}-${tag}${counter++}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.teardown(() => {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  });
  return name;
}

/** Runs `ip -n ns ...` and returns stdout. */
export function ip(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
}

/** Runs `ip -n ns -j ...` and parses the JSON (empty output is an empty list). */
export function ipJson<T = Record<string, unknown>[]>(ns: string, ...args: string[]): T {
  const out = execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' }).trim();
  return JSON.parse(out === '' ? '[]' : out) as T;
}

/** Runs `bridge -n ns -j ...` and parses the JSON. */
export function bridgeJson<T = Record<string, unknown>[]>(ns: string, ...args: string[]): T {
  const out = execFileSync('bridge', ['-n', ns, '-j', ...args], { encoding: 'utf8' }).trim();
  return JSON.parse(out === '' ? '[]' : out) as T;
}

/** Whether `cmd` succeeds (used to ask iproute2 what the kernel supports). */
export function succeeds(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** iproute2 prints /32 and /128 destinations without the length and /0 as "default". */
export function ipPrefix(dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  return dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`;
}
