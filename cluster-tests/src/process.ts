// A long-running process inside a network namespace: its own process group, stdout and stderr
// in one log file of the run, its pid recorded for the leftover sweep.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { type EnterVia, netnsArgv, showCommand, startTime } from '@vnet/testkit';
import { groupMembers, killRecorded, recordProcess } from './leftovers.js';
import { type WaitOptions, waitFor } from './wait.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Name in logs and messages; default the command's base name. Unique per namespace. */
  name?: string;
  /** Environment; default the test process's. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How to enter the namespace (default nsenter: only the network namespace changes). */
  via?: EnterVia;
}

/** The parts of a cluster a process reports to (so destroy and the exit handler find it). */
export interface ProcessOwner {
  readonly runDir: string;
  adopt(p: NsProcess): void;
}

export class NsProcess {
  #child: ChildProcess | undefined;
  #exit: Exit | undefined;
  #exited: Promise<Exit> = Promise.resolve({ code: null, signal: null });
  #start = '';
  #pid = 0;
  #runs = 0;
  /** Where the current run's output starts in the log file. */
  #runOffset = 0;

  constructor(
    private readonly owner: ProcessOwner,
    /** Namespace the process runs in. */
    readonly ns: string,
    /** The command as given (without the namespace wrapper). */
    readonly argv: readonly string[],
    readonly name: string,
    /** stdout and stderr of every run of this process, appended. */
    readonly logFile: string,
    private readonly opts: SpawnOptions,
  ) {}

  /** Pid of the current (or last) run; the process group has the same id. */
  get pid(): number {
    return this.#pid;
  }

  /** How many times it was started (1 after the first start, 2 after a restart, ...). */
  get runs(): number {
    return this.#runs;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#exit === undefined;
  }

  /** How the last run ended, or undefined while it runs. */
  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** Starts (again). Used by Netns.spawn and restart(); throws if it is running. */
  start(): this {
    if (this.running) throw new Error(`${this.name} (pid ${this.#pid}) is already running`);
    const fd = openSync(this.logFile, 'a');
    try {
      const header = `=== ${new Date().toISOString()} run ${this.#runs + 1} in ${this.ns}: ${showCommand(this.argv).replace(/\n/g, '\\n')}\n`;
      writeSync(fd, header);
      this.#runOffset = fstatSync(fd).size;
      const argv = netnsArgv(this.ns, this.argv, this.opts.via);
      const child = spawn(argv[0]!, argv.slice(1), {
        stdio: ['ignore', fd, fd],
        detached: true, // own process group: kill(-pid) reaches its children too
        ...(this.opts.env && { env: this.opts.env }),
        ...(this.opts.cwd && { cwd: this.opts.cwd }),
      });
      if (child.pid === undefined) {
        throw new Error(`${showCommand(argv)} could not start (see ${this.logFile})`);
      }
      this.#child = child;
      this.#pid = child.pid;
      this.#exit = undefined;
      this.#runs++;
      // nsenter execs the command: the pid and start time stay the command's.
      this.#start = recordProcess(this.owner.runDir, child.pid, this.argv);
      this.#exited = new Promise((resolve) => {
        child.on('exit', (code, signal) => {
          this.#exit = { code, signal };
          const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
          try {
            appendFileSync(
              this.logFile,
              `=== ${new Date().toISOString()} run ${this.#runs} ${how}\n`,
            );
          } catch {
            // the run dir may be gone already
          }
          child.unref();
          resolve(this.#exit);
        });
        child.on('error', () => {
          this.#exit ??= { code: null, signal: null };
          resolve(this.#exit);
        });
      });
      // A forgotten process must not keep the test alive: the exit handler kills it.
      child.unref();
      this.owner.adopt(this);
      return this;
    } finally {
      closeSync(fd);
    }
  }

  /** Sends a signal to the process (and, with `group`, to its whole process group). */
  kill(signal: NodeJS.Signals = 'SIGTERM', opts: { group?: boolean } = {}): boolean {
    if (!this.running) return false;
    try {
      process.kill(opts.group ? -this.#pid : this.#pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves when the current run ends; rejects after `timeoutMs` (default: wait forever). */
  async waitExit(timeoutMs?: number): Promise<Exit> {
    if (this.#exit) return this.#exit;
    this.#child?.ref(); // keep the event loop alive while someone waits
    try {
      if (timeoutMs === undefined) return await this.#exited;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `${this.name} (pid ${this.#pid} in ${this.ns}) still runs after ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([this.#exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    } finally {
      if (this.#exit) this.#child?.unref();
    }
  }

  /**
   * SIGTERM to the group, SIGKILL after `graceMs` (default 3 s) to what is left of it; resolves
   * with the exit once no process of its group runs any more.
   */
  async stop(graceMs = 3000): Promise<Exit | undefined> {
    if (this.running) {
      this.kill('SIGTERM', { group: true });
      try {
        await this.waitExit(graceMs);
      } catch {
        this.kill('SIGKILL', { group: true });
        await this.waitExit(5000);
      }
    }
    if (this.#killStragglers()) {
      await waitFor(
        `the process group of ${this.name} (${this.#pid}) to end`,
        () => groupMembers(this.#pid),
        (members) => members.length === 0,
        { timeoutMs: 5000, intervalMs: 10 },
      );
    }
    return this.#exit;
  }

  /** Stops (if running) and starts the same command again, appending to the same log. */
  async restart(graceMs?: number): Promise<this> {
    await this.stop(graceMs);
    return this.start();
  }

  /** Synchronous SIGKILL of the group, for exit and signal handlers. */
  killSync(): void {
    if (this.#pid) killRecorded({ pid: this.#pid, start: this.#start }, 'SIGKILL');
    this.#killStragglers();
  }

  /**
   * Children left in the group after the leader died. Linux reuses no pid while a process group
   * still has it as its id, so a group -pid whose pid is dead (or still our leader) is ours; a pid
   * that now names another process is left alone.
   */
  #killStragglers(): boolean {
    if (!this.#pid) return false;
    const now = startTime(this.#pid);
    if (now !== undefined && now !== this.#start) return false;
    try {
      process.kill(-this.#pid, 'SIGKILL');
      return true;
    } catch {
      return false; // no such group: nothing left
    }
  }

  /** The log so far (all runs). */
  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** What the current (or last) run printed so far, without the harness's `===` lines. */
  output(): string {
    let buf: Buffer;
    try {
      buf = readFileSync(this.logFile);
    } catch {
      return '';
    }
    return buf
      .subarray(this.#runOffset)
      .toString('utf8')
      .split('\n')
      .filter((l) => !l.startsWith('=== '))
      .join('\n');
  }

  /** The last `lines` lines of the log, for error messages. */
  logTail(lines = 20): string {
    return this.log().trimEnd().split('\n').slice(-lines).join('\n');
  }

  /**
   * Waits until the current run's output (or, with `allRuns`, the whole log with the harness's
   * lines) matches `pattern`; returns the match. Fails at once if the process exits meanwhile.
   */
  async waitForLog(
    pattern: RegExp,
    opts: WaitOptions & { allRuns?: boolean } = {},
  ): Promise<RegExpExecArray> {
    const m = await waitFor(
      `${this.name} in ${this.ns} to log ${pattern}`,
      () => pattern.exec(opts.allRuns ? this.log() : this.output()) ?? this.logTail(3),
      (o) => typeof o !== 'string',
      { ...opts, stopIf: opts.stopIf ?? (() => this.exitReason()) },
    );
    return m as RegExpExecArray;
  }

  /** Undefined while running; otherwise how it ended and its last log lines (for stopIf). */
  exitReason(): string | undefined {
    if (this.running) return undefined;
    const how = this.#exit
      ? this.#exit.signal
        ? `was killed by ${this.#exit.signal}`
        : `exited with code ${this.#exit.code}`
      : 'is not running';
    return `${this.name} (pid ${this.#pid} in ${this.ns}) ${how}; log ${this.logFile} ends:\n${this.logTail()}`;
  }
}
