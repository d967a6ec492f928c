// iproute2 as the oracle of what a namespace's kernel holds: `ip -n NS ...`, and the JSON of
// `ip -j` / `bridge -j` parsed. Async for harnesses that do many things at once, sync for tests.
import { parseJsonOutput, runOk, runOkSync } from './exec.js';

/** Any object of `ip -j` / `bridge -j` output. */
export type IpObject = Record<string, unknown>;

/** `ip -n NS ARGS...`: its stdout; throws unless it exits 0. */
export function ipSync(ns: string, ...args: string[]): string {
  return runOkSync(['ip', '-n', ns, ...args]);
}

/** `ip -n NS -j ARGS...` parsed (empty output is an empty list). */
export async function ipJson<T = IpObject[]>(ns: string, ...args: string[]): Promise<T> {
  const argv = ['ip', '-n', ns, '-j', ...args];
  return parseJsonOutput<T>((await runOk(argv)).stdout, argv);
}

export function ipJsonSync<T = IpObject[]>(ns: string, ...args: string[]): T {
  const argv = ['ip', '-n', ns, '-j', ...args];
  return parseJsonOutput<T>(runOkSync(argv), argv);
}

/** `bridge -n NS -j ARGS...` parsed (e.g. `fdb show dev vtep1024`). */
export async function bridgeJson<T = IpObject[]>(ns: string, ...args: string[]): Promise<T> {
  const argv = ['bridge', '-n', ns, '-j', ...args];
  return parseJsonOutput<T>((await runOk(argv)).stdout, argv);
}

export function bridgeJsonSync<T = IpObject[]>(ns: string, ...args: string[]): T {
  const argv = ['bridge', '-n', ns, '-j', ...args];
  return parseJsonOutput<T>(runOkSync(argv), argv);
}
