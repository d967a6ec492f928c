// Runs the real dig (Debian bind9-dnsutils) and parses its default output.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DigRecord {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

export interface DigResult {
  status: string;
  flags: string[];
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** EDNS UDP size the server advertised, if any. */
  ednsUdp?: number;
  /** 'UDP' or 'TCP': how dig got the final answer. */
  transport: string;
  /** dig said it retried over TCP after a truncated UDP answer. */
  retriedTcp: boolean;
  raw: string;
}

function records(section: string): DigRecord[] {
  return section
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';'))
    .map((l) => {
      const [name, ttl, , type, ...data] = l.split(/\s+/);
      return { name, ttl: Number(ttl), type, data: data.join(' ') };
    });
}

export async function dig(port: number, args: string[]): Promise<DigResult> {
  const { stdout } = await run('dig', [
    '@127.0.0.1',
    '-p',
    String(port),
    '+tries=1',
    '+time=3',
    ...args,
  ]).catch((e: { stdout?: string; message: string }) => {
    throw new Error(`dig ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}`);
  });
  const section = (title: string) => {
    const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
    return m ? records(m[1]) : [];
  };
  return {
    status: /status: (\w+)/.exec(stdout)?.[1] ?? '',
    flags: (/;; flags: ([^;]*);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/).filter(Boolean),
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL'),
    ednsUdp: /; EDNS: version: \d+, flags:[^;]*; udp: (\d+)/.test(stdout)
      ? Number(/; EDNS: version: \d+, flags:[^;]*; udp: (\d+)/.exec(stdout)?.[1])
      : undefined,
    transport: /;; SERVER: .*\((UDP|TCP)\)/.exec(stdout)?.[1] ?? '',
    retriedTcp: stdout.includes('Truncated, retrying in TCP mode'),
    raw: stdout,
  };
}

/** Sorted data fields of the answer records of one type. */
export function answers(r: DigResult, type = 'A'): string[] {
  return r.answer
    .filter((a) => a.type === type)
    .map((a) => a.data)
    .sort();
}
