// Running short commands (iproute2, ping, curl) and collecting their output. Tests shell out on
// purpose: they prove the product with the tools an operator would use.
import { spawn, spawnSync } from 'node:child_process';

export interface ExecResult {
  /** Exit code; -1 when the command was ended by a signal. */
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The command was killed because it outlived `timeoutMs`. */
  timedOut: boolean;
}

export interface ExecOptions {
  /** Written to the command's stdin (which is closed afterwards). */
  input?: string;
  /** Kill the command (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The command line as one readable string, for error messages. */
export function showCommand(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`))
    .join(' ');
}

export class ExecError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: ExecResult,
    where = '',
  ) {
    const why = result.timedOut
      ? 'timed out'
      : result.signal
        ? `was killed by ${result.signal}`
        : `exited with ${result.code}`;
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-10).join('\n');
    super(`${showCommand(argv)}${where} ${why}${detail ? `:\n${detail}` : ''}`);
    this.name = 'ExecError';
  }
}

/** Runs `argv` to completion; never rejects for a non-zero exit (only when it cannot start). */
export function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.reject(new Error('run: empty command'));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.env && { env: opts.env }),
      ...(opts.cwd && { cwd: opts.cwd }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${showCommand(argv)} could not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? -1,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs `argv` and rejects with an ExecError unless it exits 0. */
export async function runOk(
  argv: readonly string[],
  opts: ExecOptions = {},
  where = '',
): Promise<ExecResult> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new ExecError(argv, r, where);
  return r;
}

/** The synchronous form, for exit and signal handlers (no event loop there) and plain tests. */
export function runSync(argv: readonly string[], input?: string): ExecResult {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd!, args, {
    input: input ?? '',
    encoding: 'utf8',
    timeout: 30_000,
    maxBuffer: 64 << 20, // dumps of thousands of kernel objects
  });
  return {
    code: r.status ?? -1,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? (r.error ? r.error.message : ''),
    timedOut: r.error?.message.includes('ETIMEDOUT') ?? false,
  };
}

/** runSync that throws an ExecError unless the command exits 0; returns its stdout. */
export function runOkSync(argv: readonly string[], input?: string): string {
  const r = runSync(argv, input);
  if (r.code !== 0) throw new ExecError(argv, r);
  return r.stdout;
}

/** Parses JSON printed by `ip -j` / `bridge -j` (empty output is an empty list). */
export function parseJsonOutput<T>(stdout: string, argv: readonly string[]): T {
  const text = stdout.trim();
  if (text === '') return [] as T;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(
      `${showCommand(argv)} printed no JSON (${(e as Error).message}): ${text.slice(0, 200)}`,
    );
  }
}
