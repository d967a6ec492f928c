// CPU time and resident memory of processes, read from /proc (Linux).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  ticksPerSecond ??=
    Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** User + system CPU seconds used so far by `pid` (0 if it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return 0;
  }
}

/** Resident memory of `pid` in MiB (0 if it is gone). */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Average CPU use (percent of one core) per process over `ms` of wall time. */
export async function cpuPercent(pids: readonly number[], ms: number): Promise<number> {
  const before = pids.map(cpuSeconds);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const elapsed = (performance.now() - t0) / 1000;
  const after = pids.map(cpuSeconds);
  const used = after.reduce((a, v, i) => a + (v - (before[i] as number)), 0);
  return (100 * used) / elapsed / pids.length;
}
