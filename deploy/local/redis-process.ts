/**
 * One redis-server (data node, cluster node or sentinel) as a child process
 * that can be killed and started again with the same command line, port and
 * directory: the building block of the Cluster and Sentinel launchers.
 */
import { describeExit, OutputTail, requireExecutable, spawnGroup, type ManagedProcess } from './process.js';
import { redisCommand } from './resp.js';
import { waitUntil } from './wait.js';

export interface RedisProcess {
  readonly port: number;
  /** The current process's pid (a new one after start()). */
  readonly pid: number;
  readonly alive: boolean;
  /** Signals the process group (default SIGKILL: a crash) and waits for the exit. A no-op when dead. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same command line once it is dead (stops it first when alive); resolves when it answers PING. */
  start(): Promise<void>;
  /** SIGTERM, SIGKILL after 10 s; waits for the exit. */
  stop(): Promise<void>;
  /** The last 64 KiB of its output, across restarts. */
  output(): string;
}

export interface RedisProcessOptions {
  port: number;
  /** redis-server's arguments (a config file and/or --options). */
  args: string[];
  /** For error messages: "cluster node 127.0.0.1:7000". */
  what: string;
  /** Sent with the PING that says the process is ready (requirepass). */
  password?: string;
  cwd?: string;
}

export async function startRedisProcess(opts: RedisProcessOptions): Promise<RedisProcess> {
  const binary = requireExecutable('redis-server', 'redis-server');
  const output = new OutputTail();
  let proc: ManagedProcess | undefined;

  const launch = async (): Promise<void> => {
    const current = await spawnGroup(binary, opts.args, { cwd: opts.cwd, onOutput: (chunk) => output.append(chunk) });
    proc = current;
    try {
      await waitUntil(async () => (await redisCommand(opts.port, ['PING'], 1000, { password: opts.password })) === 'PONG', {
        what: `${opts.what} to answer PING`,
        abort: () => current.exitInfo && new Error(`${opts.what} ${describeExit(current.exitInfo)} before it was ready:\n${output}`),
      });
    } catch (error) {
      await current.kill('SIGKILL');
      throw error;
    }
  };

  await launch();
  return {
    port: opts.port,
    get pid() {
      return proc?.pid ?? 0;
    },
    get alive() {
      return proc?.alive ?? false;
    },
    async kill(signal = 'SIGKILL') {
      if (proc?.alive) await proc.kill(signal);
    },
    async start() {
      if (proc?.alive) await proc.stop({ graceMs: 10_000 });
      await launch();
    },
    async stop() {
      if (proc?.alive) await proc.stop({ graceMs: 10_000 });
    },
    output: () => output.toString(),
  };
}

/** `INFO <section>` as a map of its `field:value` lines. */
export async function redisInfo(port: number, section: string, password?: string): Promise<Map<string, string>> {
  const text = String(await redisCommand(port, ['INFO', section], 2000, { password }));
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}
