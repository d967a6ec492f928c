// This package's test namespaces (@vnet/testkit's, named nlt<pid>-<tag><n>), and what tests
// need to know of iproute2's output.
import { execFileSync } from 'node:child_process';
import { type Teardown, netns as testNetns } from '@vnet/testkit';

/** A fresh namespace, deleted when `t` ends. */
export function netns(t: Teardown, tag?: string): string {
  return testNetns(t, 'nlt', tag);
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
