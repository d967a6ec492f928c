// A test file that needs root (network namespaces, nftables, privileged ports) says so first.
// Run by another user, it is skipped as a whole with the reason (tap's skip-all plan), which
// the test runner counts as a skipped file, not as a pass or a failure.

/** The part of tap's top-level `t` that requireRoot uses. */
export interface SkipAll {
  plan(n: number, comment?: string): void;
}

/**
 * Call at the top of a test file, before its tests: when this process is not root, the file is
 * skipped with "needs root: <why>" and the process ends there (nothing after the call runs).
 */
export function requireRoot(t: SkipAll, why: string): void {
  if (process.getuid?.() === 0) return;
  t.plan(0, `needs root: ${why}`);
  process.exit(0);
}
