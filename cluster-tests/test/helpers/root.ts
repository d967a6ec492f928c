// What the cluster tests check around the harness: the root namespace's links, mounts.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** "ifindex:name" of every link of the root namespace, sorted. */
export function rootLinks(): string[] {
  const links = JSON.parse(execFileSync('ip', ['-j', 'link'], { encoding: 'utf8' })) as {
    ifindex: number;
    ifname: string;
  }[];
  return links.map((l) => `${l.ifindex}:${l.ifname}`).sort();
}

/** Mount points (of this process's mount namespace) whose path contains `text`. */
export function mountsWith(text: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.includes(text));
}
