/**
 * nginx in front of the replicas, run in the foreground with every file it
 * writes inside one run directory. The config comes from the templates in
 * deploy/nginx/, the same ones the Docker setup renders.
 */
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { nginxTemplateDir } from './paths.js';
import { describeExit, OutputTail, requireExecutable, spawnGroup } from './process.js';
import { renderTemplate } from './template.js';

export interface NginxHandle {
  port: number;
  url: string;
  pid: number;
  /** nginx's error log and the access log (format `roomcast`), both in the run dir by default. */
  errorLog: string;
  accessLog: string;
  stop(): Promise<void>;
}

export interface NginxOptions {
  /** Loopback ports of the replicas. */
  upstreams: number[];
  /** Default: a free port. */
  port?: number;
  /** Built web client served at /; without it / is a 404. */
  webRoot?: string;
  /** worker_processes. Default 1. */
  workers?: number;
  /** Where the config, pid, logs and temp files go. Default: a new temp dir, removed by stop(). */
  runDir?: string;
  /** The access log (format `roomcast`: paths, no query strings). Default: access.log in the run dir. */
  accessLog?: string;
}

export const ROOMCAST_TEMPLATE = 'roomcast.conf.template';
export const LOCAL_TEMPLATE = 'nginx.local.conf.template';
const TEMP_DIRS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];

/** The `server ...;` lines of the upstream block. */
export function upstreamServers(ports: readonly number[], host = '127.0.0.1'): string {
  // max_fails=1: one refused connection takes a dead replica out of rotation
  // for fail_timeout, so reconnecting clients do not keep hitting it.
  return ports.map((port) => `server ${host}:${port} max_fails=1 fail_timeout=2s;`).join('\n    ');
}

export interface WrittenConfig {
  runDir: string;
  /** The top-level config to pass to `nginx -c`. */
  confPath: string;
  port: number;
  errorLog: string;
  accessLog: string;
}

/**
 * Renders both templates into `runDir` (nginx.conf + roomcast.conf) and
 * prepares the directories nginx's workers need. Started as root, the workers
 * run as nobody: the run dir must be searchable and the temp dirs writable.
 */
export async function writeNginxConfig(opts: NginxOptions & { port: number; runDir: string }): Promise<WrittenConfig> {
  if (opts.upstreams.length === 0) throw new Error('startNginx needs at least one upstream port');
  const runDir = path.resolve(opts.runDir);
  await mkdir(runDir, { recursive: true });
  await chmod(runDir, 0o755);
  await assertReachableByWorkers(runDir);
  await mkdir(path.join(runDir, 'temp'), { recursive: true, mode: 0o755 });
  for (const dir of TEMP_DIRS) {
    const full = path.join(runDir, 'temp', dir);
    await mkdir(full, { recursive: true });
    await chmod(full, 0o777);
  }

  let webRoot = opts.webRoot && path.resolve(opts.webRoot);
  if (webRoot) {
    await makeReadableByWorkers(webRoot);
  } else {
    // No client: an empty root, so / answers nginx's plain 404.
    webRoot = path.join(runDir, 'empty-web-root');
    await mkdir(webRoot, { recursive: true });
    await chmod(webRoot, 0o755);
  }

  const accessLog = path.resolve(runDir, opts.accessLog ?? 'access.log');
  const vars = {
    ROOMCAST_LISTEN: `127.0.0.1:${opts.port} reuseport`,
    ROOMCAST_UPSTREAM_SERVERS: upstreamServers(opts.upstreams),
    ROOMCAST_WEB_ROOT: webRoot,
    ROOMCAST_ACCESS_LOG: accessLog,
    ROOMCAST_RUN_DIR: runDir,
    ROOMCAST_WORKERS: String(opts.workers ?? 1),
  };
  const render = async (template: string): Promise<string> =>
    renderTemplate(await readFile(path.join(nginxTemplateDir, template), 'utf8'), vars);

  const confPath = path.join(runDir, 'nginx.conf');
  // nginx resolves `include roomcast.conf` relative to the directory of -c.
  await writeFile(path.join(runDir, 'roomcast.conf'), await render(ROOMCAST_TEMPLATE), { mode: 0o644 });
  await writeFile(confPath, await render(LOCAL_TEMPLATE), { mode: 0o644 });
  return { runDir, confPath, port: opts.port, errorLog: path.join(runDir, 'error.log'), accessLog };
}

/** Started as root, nginx's workers run as nobody: every parent of `target` must let them through. */
async function assertReachableByWorkers(target: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let dir = path.dirname(target); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) {
      throw new Error(`nginx workers (user nobody) cannot reach ${target}: run \`chmod o+x ${dir}\``);
    }
  }
}

/**
 * Started as root, nginx's workers run as nobody and must be able to read the
 * web root: add the read bits for others (never remove any), and check that
 * every parent directory lets them through.
 */
async function makeReadableByWorkers(webRoot: string): Promise<void> {
  const info = await stat(webRoot).catch(() => undefined);
  if (!info?.isDirectory()) throw new Error(`webRoot ${webRoot} is not a directory`);
  if (process.getuid?.() !== 0) return;
  await assertReachableByWorkers(webRoot);
  const walk = async (p: string): Promise<void> => {
    const s = await lstat(p);
    if (s.isSymbolicLink()) return;
    if (s.isDirectory()) {
      if ((s.mode & 0o005) !== 0o005) await chmod(p, s.mode | 0o005);
      for (const entry of await readdir(p)) await walk(path.join(p, entry));
    } else if ((s.mode & 0o004) === 0) {
      await chmod(p, s.mode | 0o004);
    }
  };
  await walk(webRoot);
}

/** The arguments that keep nginx off every system path. */
function nginxArgs(config: WrittenConfig): string[] {
  return ['-e', config.errorLog, '-p', config.runDir, '-c', config.confPath];
}

/** Runs `nginx -t` on a written config; rejects with nginx's own message. */
export async function testNginxConfig(config: WrittenConfig): Promise<string> {
  const binary = requireExecutable('nginx', 'nginx');
  const output = new OutputTail();
  const proc = await spawnGroup(binary, [...nginxArgs(config), '-t'], { onOutput: (c) => output.append(c) });
  const exit = await proc.exited;
  if (exit.code !== 0) throw new Error(`nginx -t failed (${describeExit(exit)}):\n${output}`);
  return output.toString();
}

async function readErrorLog(file: string): Promise<string> {
  return readFile(file, 'utf8').catch(() => '');
}

export async function startNginx(opts: NginxOptions): Promise<NginxHandle> {
  const binary = requireExecutable('nginx', 'nginx');
  const port = opts.port ?? (await freePort());
  const ownDir = opts.runDir === undefined;
  const runDir = opts.runDir ?? (await mkdtemp(path.join(os.tmpdir(), 'roomcast-nginx-')));
  const removeOwnDir = async (): Promise<void> => {
    if (ownDir) await rm(runDir, { recursive: true, force: true });
  };
  const config = await writeNginxConfig({ ...opts, port, runDir }).catch(async (error: unknown) => {
    await removeOwnDir();
    throw error;
  });
  const output = new OutputTail();
  const proc = await spawnGroup(binary, [...nginxArgs(config), '-g', 'daemon off;'], {
    onOutput: (chunk) => output.append(chunk),
  });
  try {
    await waitForPort(port, {
      what: `nginx on port ${port}`,
      abort: () => proc.exitInfo && new Error(`nginx ${describeExit(proc.exitInfo)} before it was ready`),
    });
  } catch (error) {
    await proc.kill('SIGKILL');
    // nginx's own reason is in its output or its error log.
    const reason = `${(error as Error).message}\n${output}${await readErrorLog(config.errorLog)}`;
    await removeOwnDir();
    throw new Error(reason);
  }

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    errorLog: config.errorLog,
    accessLog: config.accessLog,
    async stop() {
      // SIGTERM is nginx's fast shutdown; SIGQUIT would wait up to an hour
      // for idle WebSockets to end.
      await proc.stop({ signal: 'SIGTERM', graceMs: 5000 });
      await removeOwnDir();
    },
  };
}
