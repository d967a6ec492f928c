// Whether a process still lives, told apart from a later process that got the same pid.
import { readFileSync } from 'node:fs';

/** /proc/PID/stat's start time (clock ticks since boot), or undefined if no such process. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // a zombie is gone for us
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid runs (zombies do not count). */
export function alive(pid: number): boolean {
  return startTime(pid) !== undefined;
}
