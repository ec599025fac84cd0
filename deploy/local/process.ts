/**
 * Child processes in their own process group. Killing the group also kills
 * what the child forked (nginx workers), and a group of our own keeps a
 * terminal's Ctrl-C from reaching the children before we tear them down in
 * order. Every live group is SIGKILLed when this process exits or dies of
 * SIGINT/SIGTERM/SIGHUP, so an interrupted test run leaves no redis or nginx
 * behind.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly pid: number;
  readonly alive: boolean;
  /** Settles once, when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  /** The exit, once it happened. */
  readonly exitInfo: ExitInfo | undefined;
  /** Sends `signal` to the whole process group; a no-op once it exited. */
  signal(signal: NodeJS.Signals): void;
  /** Sends `signal` and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** Asks politely (SIGTERM by default), then SIGKILLs the group after `graceMs`. */
  stop(opts?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<ExitInfo>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Receives stdout and stderr as they come, decoded as UTF-8. */
  onOutput?: (chunk: string) => void;
}

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a signal is all we can do here.
  process.on('exit', killAllGroups);
  // A fatal signal skips 'exit' handlers. When nobody else handles the signal
  // (a test runner, a script), kill our groups, then die of it as we would
  // have. A host that listens itself (the CLI) owns the shutdown instead.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      if (process.listenerCount(signal) > 1) return;
      killAllGroups();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function killAllGroups(): void {
  for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone (ESRCH): nothing to do.
  }
}

/** Spawns `command` as the leader of a new process group. */
export async function spawnGroup(command: string, args: string[], opts: SpawnOptions = {}): Promise<ManagedProcess> {
  installExitHook();
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) {
    // Spawning failed (ENOENT, EACCES): the reason comes as an 'error' event.
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`could not start ${command}: ${error.message}`);
  }
  liveGroups.add(pid);
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => opts.onOutput?.(chunk));
  }

  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      liveGroups.delete(pid);
      // Whatever the leader left behind in its group goes with it.
      signalGroup(pid, 'SIGKILL');
      resolve(exitInfo);
    });
  });

  const handle: ManagedProcess = {
    pid,
    get alive() {
      return exitInfo === undefined;
    },
    exited,
    get exitInfo() {
      return exitInfo;
    },
    signal(signal) {
      if (exitInfo === undefined) signalGroup(pid, signal);
    },
    async kill(signal = 'SIGKILL') {
      handle.signal(signal);
      return exited;
    },
    async stop({ signal = 'SIGTERM', graceMs = 10_000 } = {}) {
      handle.signal(signal);
      const timer = setTimeout(() => handle.signal('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  return handle;
}

/** Describes an exit for error messages: "exited with code 1" / "was killed by SIGKILL". */
export function describeExit(info: ExitInfo): string {
  return info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
}

/**
 * The absolute path of an executable, or an error that says how to install it.
 * Looks in PATH, then in the sbin directories that a non-root PATH lacks on
 * Debian (nginx lives in /usr/sbin).
 */
export function requireExecutable(name: string, aptPackage: string): string {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of [...dirs, '/usr/local/sbin', '/usr/sbin', '/sbin']) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`${name} not found: install it with \`apt-get install -y ${aptPackage}\``);
}

/** Keeps the last `maxChars` characters of a process's output, for error messages. */
export class OutputTail {
  private text = '';
  constructor(private readonly maxChars = 64 * 1024) {}

  append(chunk: string): void {
    this.text += chunk;
    // Trim in large steps so that appending stays cheap.
    if (this.text.length > this.maxChars * 2) this.text = this.text.slice(-this.maxChars);
  }

  toString(): string {
    return this.text.length > this.maxChars ? this.text.slice(-this.maxChars) : this.text;
  }
}
