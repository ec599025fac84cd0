/**
 * Runs the real redis-server the way a deployment starts it (the compose
 * command line, or the Kubernetes container command with its redis.conf) and
 * reads back what it applied: proof that the settings parse and mean what we
 * think, password included.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, redisCommand, type CommandOptions, type RespValue } from '@roomcast/deploy/local';
import { run, startChild } from './child.js';

export interface PersistenceSettings {
  appendonly: string;
  appendfsync: string;
  save: string;
}

export interface RedisLaunch {
  /** The deployment's command: `redis-server ...` (compose) or the container's `sh -c ...` (Kubernetes). */
  argv: string[];
  /** Its environment (the container's env, secrets filled in). */
  env?: Record<string, string>;
  /** The config file the command reads, at the path it reads it from (the ConfigMap's mount). */
  config?: { text: string; path: string };
  /** Addresses to listen on. Default: loopback only. */
  bind?: string[];
}

export interface DeployedRedis {
  port: number;
  command(args: readonly string[], opts?: CommandOptions): Promise<RespValue>;
  /** CONFIG GET name (after AUTH with `password`). */
  config(name: string, password?: string): Promise<string>;
  persistence(password?: string): Promise<PersistenceSettings>;
  /**
   * Runs a shell command the way a health check or exec probe runs it inside
   * the container, with `env`: `redis-cli` reaches this server (its port is
   * the only thing added).
   */
  probe(shellCommand: string, env: Record<string, string>): Promise<{ code: number | null; output: string }>;
  stop(): Promise<void>;
}

/**
 * Starts redis-server as the deployment does. Its data directory is replaced
 * by a temp dir (Redis changes into `dir` as soon as it reads it, so it cannot
 * be overridden later); a free port and a loopback bind are appended (later
 * settings win). Rejects with redis's output if it exits before answering.
 */
export async function startDeployedRedis(launch: RedisLaunch): Promise<DeployedRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-deploy-redis-'));
  await chmod(dir, 0o755);
  const port = await freePort();
  const bind = launch.bind ?? ['127.0.0.1'];
  let argv = launch.argv.map((arg, i) => (launch.argv[i - 1] === '--dir' ? dir : arg));
  if (launch.config) {
    const configFile = path.join(dir, 'redis.conf');
    if (!/^dir /m.test(launch.config.text)) throw new Error('redis.conf sets no dir');
    const text = launch.config.text.replace(/^dir .*$/m, `dir ${dir}`);
    await writeFile(configFile, `${text}\nport ${port}\nbind ${bind.join(' ')}\n`);
    const configPath = launch.config.path;
    if (!argv.some((arg) => arg.includes(configPath))) throw new Error(`the command does not read ${configPath}`);
    argv = argv.map((arg) => arg.split(configPath).join(configFile));
  } else {
    argv = [...argv, '--port', String(port), '--bind', ...bind, '--daemonize', 'no'];
  }
  const [binary = '', ...args] = argv;
  const server = startChild(binary, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...launch.env } });
  const stop = async (): Promise<void> => {
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // An external process: poll until it answers anything (NOAUTH is an answer).
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (server.hasExited()) {
        const exit = await server.exited;
        throw new Error(`redis exited with code ${exit.code}:\n${server.output()}`);
      }
      const answer = await redisCommand(port, ['PING'], 500).then(
        () => true,
        (error: NodeJS.ErrnoException) => error.code === undefined && /^(NOAUTH|DENIED)/.test(error.message),
      );
      if (answer) break;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING:\n${server.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    await stop();
    throw error;
  }

  const config = async (name: string, password?: string): Promise<string> => {
    const reply = await redisCommand(port, ['CONFIG', 'GET', name], 2000, { password });
    if (!Array.isArray(reply) || typeof reply[1] !== 'string') throw new Error(`CONFIG GET ${name}: ${String(reply)}`);
    return reply[1];
  };
  return {
    port,
    command: (commandArgs, opts) => redisCommand(port, commandArgs, 2000, opts),
    config,
    async persistence(password) {
      return {
        appendonly: await config('appendonly', password),
        appendfsync: await config('appendfsync', password),
        save: await config('save', password),
      };
    },
    async probe(shellCommand, env) {
      const shim = await mkdtemp(path.join(os.tmpdir(), 'roomcast-redis-cli-'));
      try {
        const cli = (await run('sh', ['-c', 'command -v redis-cli'])).output.trim();
        if (!cli) throw new Error('redis-cli is not installed: apt-get install redis-tools');
        await writeFile(path.join(shim, 'redis-cli'), `#!/bin/sh\nexec ${cli} -p ${port} "$@"\n`, { mode: 0o755 });
        return await run('sh', ['-c', shellCommand], { env: { PATH: `${shim}:${process.env.PATH ?? '/usr/bin:/bin'}`, ...env } });
      } finally {
        await rm(shim, { recursive: true, force: true });
      }
    },
    stop,
  };
}

/** The persistence settings a deployment's redis-server really applies. */
export async function appliedPersistence(launch: RedisLaunch, password?: string): Promise<PersistenceSettings> {
  const redis = await startDeployedRedis(launch);
  try {
    return await redis.persistence(password);
  } finally {
    await redis.stop();
  }
}
