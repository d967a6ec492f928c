// Every child process the bench (or a test) starts, so that an interrupted run still kills them.
import type { ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();

export function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/** SIGKILLs every tracked child still running (by PID). */
export function killAll(): void {
  for (const c of running) {
    if (c.pid && c.exitCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

/** On SIGINT/SIGTERM: kill the children, then exit. */
export function killChildrenOnSignal(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}
