/**
 * Child processes for tests and benchmarks that run the real thing (a service's dist,
 * redis-server, Cerbos): spawn, wait until ready, stop. Output is kept (stdout, stderr
 * and both interleaved in `log`) so that a failure shows what the process said.
 *
 * Invariants: a process that cannot be started (binary missing) or exits while it is
 * awaited fails the wait at once with its output, never a silent timeout; `stop()`
 * sends SIGTERM, then SIGKILL after the grace period, and resolves when it has exited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eventually, type EventuallyOptions, type Settled } from './eventually.js';

export type OutputMode = 'capture' | 'inherit' | 'ignore';

export interface ProcessOptions {
  /** For messages. @defaultValue the file name of the script or command */
  readonly name?: string;
  readonly cwd?: string;
  /** Added to (or, with `inheritEnv: false`, the whole of) the child's environment besides PATH. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Start from this process's environment. @defaultValue true */
  readonly inheritEnv?: boolean;
  /** @defaultValue 'capture' */
  readonly stdout?: OutputMode;
  /** @defaultValue 'capture' */
  readonly stderr?: OutputMode;
  /** Keep only the last this many characters of each captured stream. @defaultValue unlimited */
  readonly outputLimit?: number;
  /** The run-as uid and gid (root running a server that refuses root). */
  readonly uid?: number;
  readonly gid?: number;
  /** Said first when the command cannot be started, e.g. "redis-server must be on PATH (.ci/run installs it)". */
  readonly whenMissing?: string;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Date.now() when it exited. */
  readonly atMs: number;
}

export interface StopOptions {
  /** Time between SIGTERM and SIGKILL. @defaultValue 10000 */
  readonly graceMs?: number;
}

export interface TestProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  /** Resolves when the process has exited (or could not be started: code null, signal null). */
  readonly exited: Promise<ProcessExit>;
  /** Neither exited nor failed to start. */
  readonly running: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr as they arrived. */
  readonly log: string;
  /** The last lines of stderr and stdout, for an error message. */
  tail(lines?: number): string;
  /** `eventually(probe)`, failing at once if the process exits first; errors carry its output. */
  waitFor<T>(what: string, probe: () => T | Promise<T>, options?: Omit<EventuallyOptions, 'what' | 'bail'>): Promise<Settled<T>>;
  /** Waits until the output (stdout and stderr) matches `pattern`. */
  waitForOutput(pattern: RegExp, options?: Omit<EventuallyOptions, 'what' | 'bail'>): Promise<RegExpExecArray>;
  /** SIGTERM, then SIGKILL after the grace period; resolves once exited. */
  stop(options?: StopOptions): Promise<ProcessExit>;
  /** SIGKILL (a crash); resolves once exited. */
  kill(): Promise<ProcessExit>;
}

function keep(text: string, limit: number | undefined): string {
  return limit === undefined || text.length <= limit ? text : text.slice(-limit);
}

/** Starts `command args`. */
export function startProcess(command: string, args: readonly string[], options: ProcessOptions = {}): TestProcess {
  const name = options.name ?? path.basename(command);
  const mode = (m: OutputMode | undefined) => (m === undefined || m === 'capture' ? 'pipe' : m);
  const env: NodeJS.ProcessEnv = options.inheritEnv === false ? { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } : { ...process.env };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const child = spawn(command, [...args], {
    env,
    stdio: ['ignore', mode(options.stdout), mode(options.stderr)],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  let stdout = '';
  let stderr = '';
  let log = '';
  let exit: ProcessExit | undefined;
  let startError: Error | undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal, atMs: Date.now() };
      resolve(exit);
    });
    child.once('error', (error) => {
      // Only a failed spawn ends here without an exit; a failed kill() is not an exit.
      if (child.pid !== undefined) return;
      startError = new Error(`${options.whenMissing ?? `cannot start ${command}`}: ${error.message}`, { cause: error });
      exit = { code: null, signal: null, atMs: Date.now() };
      resolve(exit);
    });
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout = keep(stdout + chunk.toString(), options.outputLimit);
    log = keep(log + chunk.toString(), options.outputLimit);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = keep(stderr + chunk.toString(), options.outputLimit);
    log = keep(log + chunk.toString(), options.outputLimit);
  });

  const tail = (lines = 40) => {
    const last = (text: string) =>
      text.split('\n').slice(-lines).map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line)).join('\n') || '(empty)';
    return `--- ${name} stderr ---\n${last(stderr)}\n--- ${name} stdout (last ${lines} lines) ---\n${last(stdout)}`;
  };
  const bail = () => {
    if (startError !== undefined) return startError.message;
    if (exit !== undefined) return `${name} exited (code ${exit.code}, signal ${exit.signal})\n${tail()}`;
    return undefined;
  };
  const signal = (sig: NodeJS.Signals) => {
    if (exit === undefined) child.kill(sig);
  };

  const proc: TestProcess = {
    name,
    child,
    pid: child.pid,
    exited,
    get running() {
      return exit === undefined;
    },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    get log() {
      return log;
    },
    tail,
    async waitFor(what, probe, waitOptions = {}) {
      // A failed spawn is reported on the next tick: let it land before the first attempt.
      await new Promise((resolve) => setImmediate(resolve));
      return eventually(probe, { ...waitOptions, what: `${name}: ${what}`, bail, detail: () => tail() });
    },
    async waitForOutput(pattern, waitOptions = {}) {
      return proc.waitFor(`output matching ${String(pattern)}`, () => pattern.exec(log), waitOptions) as Promise<RegExpExecArray>;
    },
    async stop(stopOptions = {}) {
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), stopOptions.graceMs ?? 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async kill() {
      signal('SIGKILL');
      return exited;
    },
  };
  return proc;
}

/** Starts a Node script with this Node (`nodeArgs` go before the script: V8 flags, --expose-gc). */
export function startNode(script: string, args: readonly string[] = [], options: ProcessOptions & { nodeArgs?: readonly string[] } = {}): TestProcess {
  return startProcess(process.execPath, [...(options.nodeArgs ?? []), script, ...args], { name: path.basename(script), ...options });
}
