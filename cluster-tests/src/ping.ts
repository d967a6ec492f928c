// `ping` command lines and their output as numbers (iputils-ping; busybox's summary too).

export interface PingOptions {
  /** Echo requests to send (-c); default 3. */
  count?: number;
  /** Seconds between requests (-i); default 0.2 (below 0.2 needs root, which the harness is). */
  intervalS?: number;
  /** Seconds to wait for each reply (-W); default 1. */
  waitS?: number;
  /** Stop after this many seconds whatever happened (-w). */
  deadlineS?: number;
  /** ICMP payload bytes (-s); the packet is 28 bytes more. */
  size?: number;
  /** Set DF and never fragment locally (-M do): for MTU tests. */
  dontFragment?: boolean;
  /** Source address or interface (-I). */
  source?: string;
  /** Force IPv6 (-6) or IPv4 (-4); by default ping picks from the address. */
  family?: 4 | 6;
}

export interface PingStats {
  transmitted: number;
  received: number;
  /** Packet loss in percent, as ping prints it. */
  lossPercent: number;
  /** "+N errors" (unreachable, fragmentation needed, ...). */
  errors: number;
  duplicates: number;
  rtt?: { minMs: number; avgMs: number; maxMs: number; mdevMs?: number };
  /** An MTU that ping reported ("Frag needed and DF set (mtu = N)" or "message too long, mtu=N"). */
  mtu?: number;
  /** "Destination Host Unreachable" and the like, one per line seen. */
  unreachable: string[];
}

export interface PingResult extends PingStats {
  /** ping's exit code: 0 some reply, 1 no reply, 2 other error. */
  code: number;
  /** stdout then stderr, for messages. */
  output: string;
}

/** ping's argv for a target (without the namespace wrapper). */
export function pingArgv(target: string, opts: PingOptions = {}): string[] {
  const argv = ['ping', '-n'];
  if (opts.family) argv.push(`-${opts.family}`);
  argv.push('-c', String(opts.count ?? 3), '-i', String(opts.intervalS ?? 0.2));
  argv.push('-W', String(opts.waitS ?? 1));
  if (opts.deadlineS !== undefined) argv.push('-w', String(opts.deadlineS));
  if (opts.size !== undefined) argv.push('-s', String(opts.size));
  if (opts.dontFragment) argv.push('-M', 'do');
  if (opts.source) argv.push('-I', opts.source);
  argv.push(target);
  return argv;
}

/** Parses ping's output (stdout and stderr together). Missing numbers are 0. */
export function parsePing(output: string): PingStats {
  const stats: PingStats = {
    transmitted: 0,
    received: 0,
    lossPercent: 100,
    errors: 0,
    duplicates: 0,
    unreachable: [],
  };
  const summary = /(\d+) packets transmitted, (\d+) (?:packets )?received(.*)/.exec(output);
  if (summary) {
    stats.transmitted = Number(summary[1]);
    stats.received = Number(summary[2]);
    const rest = summary[3] ?? '';
    stats.errors = Number(/\+(\d+) errors?/.exec(rest)?.[1] ?? 0);
    stats.duplicates = Number(/\+(\d+) duplicates?/.exec(rest)?.[1] ?? 0);
    const loss = /([\d.]+)% packet loss/.exec(rest);
    stats.lossPercent = loss
      ? Number(loss[1])
      : stats.transmitted
        ? 100 - (100 * stats.received) / stats.transmitted
        : 100;
  }
  const rtt =
    /(?:rtt|round-trip) min\/avg\/max(\/mdev)? = ([\d.]+)\/([\d.]+)\/([\d.]+)(?:\/([\d.]+))?/.exec(
      output,
    );
  if (rtt) {
    stats.rtt = { minMs: Number(rtt[2]), avgMs: Number(rtt[3]), maxMs: Number(rtt[4]) };
    if (rtt[5] !== undefined) stats.rtt.mdevMs = Number(rtt[5]);
  }
  const mtu = /mtu ?= ?(\d+)/.exec(output);
  if (mtu) stats.mtu = Number(mtu[1]);
  for (const line of output.split('\n')) {
    if (/unreachable|prohibited|Frag needed|Time to live exceeded/i.test(line)) {
      stats.unreachable.push(line.trim());
    }
  }
  return stats;
}
