/**
 * Child processes for these tests: each one leads its own process group, its
 * output is kept for error messages, and every group still alive when the
 * test process exits is SIGKILLed.
 */
import { spawn } from 'node:child_process';

export interface Child {
  pid: number;
  /** stdout + stderr so far. */
  output(): string;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** Signals the whole group (no-op once exited). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILLs the group and waits for the exit. */
  kill(): Promise<void>;
}

const live = new Set<number>();
process.on('exit', () => {
  for (const pid of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export interface ChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user/group (needs root). */
  uid?: number;
  gid?: number;
}

export function startChild(command: string, args: string[], opts: ChildOptions = {}): Child {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env,
    uid: opts.uid,
    gid: opts.gid,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  let done = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (error) => {
      done = true;
      reject(error);
    });
    // 'close' (not 'exit'): the output has been read completely.
    child.once('close', (code, signal) => {
      done = true;
      if (child.pid !== undefined) live.delete(child.pid);
      resolve({ code, signal });
    });
  });
  const pid = child.pid ?? 0;
  if (pid) live.add(pid);
  const signal = (sig: NodeJS.Signals): void => {
    if (done || !pid) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  return {
    pid,
    output: () => text,
    exited,
    hasExited: () => done,
    signal,
    async kill() {
      signal('SIGKILL');
      await exited.catch(() => undefined);
    },
  };
}

/** Runs a command to completion; resolves with its exit code and output. */
export async function run(
  command: string,
  args: string[],
  opts: ChildOptions = {},
): Promise<{ code: number | null; output: string }> {
  const child = startChild(command, args, opts);
  const { code } = await child.exited;
  return { code, output: child.output() };
}
