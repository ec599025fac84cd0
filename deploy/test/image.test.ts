/**
 * The production image's contents work. Without a Docker engine, the stages
 * of deploy/docker/Dockerfile are assembled in clean temp dirs from their own
 * COPY and RUN lines: `build` (npm ci, server and web builds), then `server`
 * (production dependencies only, plus what it copies from `build`). The result
 * is started the way the image starts it (its CMD, ENV, an unprivileged user)
 * against a real Redis, and used: health check, probes, a WebSocket round
 * trip, the SIGTERM drain.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPLICA_NODE_OPTIONS, repoRoot, startRedis, type RedisHandle } from '@roomcast/deploy/local';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { assembleStage, type AssembledStage } from './support/assemble.js';
import { run, startChild, type Child } from './support/child.js';
import { healthcheckCommand, readDockerfile } from './support/dockerfile.js';
import { readManifests } from './support/k8s.js';
import { chatServices, composeFile, parseCompose, serviceEnvironment } from './support/compose.js';

const SECRET = 'image-test-secret-0123456789abcdef0123456789';
const REDIS_PASSWORD = 'image-test-redis-password-0123456789abcdef';
/** A replica's environment in docker-compose.yml (its Redis env_file and environment), with .env's secrets filled in. */
const composeEnv = serviceEnvironment(chatServices(parseCompose(readFileSync(composeFile, 'utf8')))[0]![1], {
  CHAT_JWT_SECRET: SECRET,
  REDIS_PASSWORD,
});
const NODE_ID = 'image-n1';
const dockerfile = readDockerfile(path.join(repoRoot, 'deploy/docker/Dockerfile'));
const stage = dockerfile.stage('server');
const deployment = readManifests('deployment.yaml')[0] as unknown as IDeployment;
const k8sContainer = deployment.spec?.template.spec?.containers[0];

/** Root starts the server as `nobody`, as the image runs it as `node`: nothing may need root. */
const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/** `node` in CMD/HEALTHCHECK is the image's node: here, this one. */
function resolveNode(argv: string[]): [string, string[]] {
  const [command = '', ...args] = argv;
  return [command === 'node' ? process.execPath : command, args];
}

interface Frame {
  type: string;
  [field: string]: unknown;
}

/** Collects a socket's frames; `next` waits for the first one that matches. */
class FrameQueue {
  private frames: Frame[] = [];
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];

  constructor(socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      const waiter = this.waiters.find((w) => w.match(frame));
      if (waiter) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      } else {
        this.frames.push(frame);
      }
    });
  }

  next(match: (f: Frame) => boolean): Promise<Frame> {
    const index = this.frames.findIndex(match);
    if (index >= 0) return Promise.resolve(this.frames.splice(index, 1)[0] as Frame);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

describe('the server image, assembled from the Dockerfile', () => {
  let image: AssembledStage;
  let buildRoot: string | undefined;
  let redisDir: string | undefined;
  let redis: RedisHandle;
  let server: Child | undefined;
  let url: string;
  let port: number;

  function serverEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...image.env,
      // The image listens on 0.0.0.0; tests stay on loopback.
      HOST: '127.0.0.1',
      ...extra,
    };
  }

  beforeAll(async () => {
    // Prefer the local npm cache (the image build has its own cache mount).
    const runEnv = { npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' };
    // The build stage for real: a clean context, npm ci, both builds. What
    // the server stage copies --from=build comes from here, not from the
    // repository's own build.
    buildRoot = await mkdtemp(path.join(os.tmpdir(), 'roomcast-image-build-'));
    const build = await assembleStage(dockerfile, dockerfile.stage('build'), buildRoot, { runEnv });
    const root = await mkdtemp(path.join(os.tmpdir(), 'roomcast-image-'));
    // Readable by the unprivileged user the server runs as.
    await chmod(root, 0o755);
    image = await assembleStage(dockerfile, stage, root, { runEnv, built: { build } });
    redisDir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-image-redis-'));
    // Password-protected, as in docker compose and on Kubernetes.
    redis = await startRedis({ dataDir: redisDir, password: REDIS_PASSWORD });
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
  }, 240_000);

  afterAll(async () => {
    await server?.kill();
    await redis?.stop();
    if (image) await rm(image.root, { recursive: true, force: true });
    if (buildRoot) await rm(buildRoot, { recursive: true, force: true });
    if (redisDir) await rm(redisDir, { recursive: true, force: true });
  });

  it('holds the server build, its production dependencies and nothing of the dev tool chain', () => {
    const app = image.workdir;
    expect(existsSync(path.join(app, 'server/dist/main.js'))).toBe(true);
    const serverPackage = JSON.parse(readFileSync(path.join(repoRoot, 'server/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const dep of Object.keys(serverPackage.dependencies)) {
      expect(existsSync(path.join(app, 'node_modules', dep, 'package.json')), dep).toBe(true);
    }
    for (const dev of ['typescript', 'vitest', 'tsx', 'vite', '@playwright/test', 'react', 'socket.io']) {
      expect(existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);
    }
    // Only what COPY put there, plus node_modules from RUN npm ci.
    expect(readdirSync(app).sort()).toEqual(['node_modules', 'package-lock.json', 'package.json', 'server', 'web']);
    expect(readdirSync(path.join(app, 'server')).sort()).toEqual(['dist', 'package.json']);
    const size = execFileSync('du', ['-sh', app], { encoding: 'utf8' }).split('\t')[0];
    console.log(`image /app: ${size} (server/dist + production node_modules + web/dist)`);
  });

  it('runs as a non-root user with NODE_ENV=production, the exec-form CMD node server/dist/main.js', () => {
    expect(image.user).toBe('node');
    expect(image.env).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0', PORT: '3000' });
    // The same V8 flags as the replicas of the local launcher and the benchmarks.
    expect(image.env?.NODE_OPTIONS).toBe(REPLICA_NODE_OPTIONS);
    expect(image.cmd).toEqual(['node', 'server/dist/main.js']);
    expect(image.imageWorkdir).toBe('/app');
    expect(stage.from).toMatch(/^node:\d+\.\d+-bookworm-slim$/);
  });

  it('refuses to start in production without CHAT_JWT_SECRET, naming it', async () => {
    const [command, args] = resolveNode(image.cmd ?? []);
    const result = await run(command, args, {
      cwd: image.workdir,
      env: serverEnv({ PORT: String(await freePort()), REDIS_URL: redis.url }),
      ...asUser,
    });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('CHAT_JWT_SECRET');
  });

  /** Starts CMD as the image would, with `extra` env; resolves once /readyz answers 200. */
  async function startServer(serverPort: number, extra: Record<string, string>): Promise<Child> {
    const [command, args] = resolveNode(image.cmd ?? []);
    const child = startChild(command, args, {
      cwd: image.workdir,
      env: serverEnv({ PORT: String(serverPort), CHAT_JWT_SECRET: SECRET, REDIS_URL: redis.url, LOG_LEVEL: 'warn', ...extra }),
      ...asUser,
    });
    // Readiness of an external process: poll with a deadline.
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.hasExited()) throw new Error(`server exited before it was ready:\n${child.output()}`);
      const ok = await fetch(`http://127.0.0.1:${serverPort}/readyz`).then((r) => r.ok, () => false);
      if (ok) return child;
      if (Date.now() > deadline) {
        await child.kill();
        throw new Error(`server not ready within 30 s:\n${child.output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('serves the built web client when WEB_ROOT is set as in the Kubernetes Deployment', async () => {
    const webRoot = k8sContainer?.env?.find((e) => e.name === 'WEB_ROOT')?.value ?? '';
    expect(webRoot).toBe('/app/web/dist');
    const webPort = await freePort();
    const web = await startServer(webPort, { NODE_ID: 'image-web', WEB_ROOT: path.join(image.root, webRoot) });
    try {
      const response = await fetch(`http://127.0.0.1:${webPort}/`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/html');
    } finally {
      await web.kill();
    }
  });

  describe('started as the image starts it (as docker compose runs it)', () => {
    beforeAll(async () => {
      // Compose's replica environment (REDIS_URL, REDIS_PASSWORD, TRUST_PROXY...),
      // pointed at this Redis, with the demo's guest login.
      const redisUrl = composeEnv.REDIS_URL?.replace('//redis:6379', `//127.0.0.1:${redis.port}`) ?? '';
      expect(redisUrl).toBe(`redis://127.0.0.1:${redis.port}`);
      // The password reaches the replica as REDIS_PASSWORD (this Redis refuses clients without it).
      expect(composeEnv.REDIS_PASSWORD).toBe(REDIS_PASSWORD);
      server = await startServer(port, { ...composeEnv, REDIS_URL: redisUrl, LOG_LEVEL: 'warn', NODE_ID, GUEST_LOGIN: 'true' });
    }, 60_000);

    it("passes the image's own HEALTHCHECK command", async () => {
      const [command, args] = resolveNode(healthcheckCommand(stage));
      const result = await run(command, args, { env: { PATH: process.env.PATH, PORT: String(port) } });
      expect(result.code, result.output).toBe(0);
    });

    it('answers the Kubernetes probe paths and /metrics', async () => {
      const probes = [k8sContainer?.readinessProbe?.httpGet?.path, k8sContainer?.livenessProbe?.httpGet?.path];
      expect(probes).toEqual(['/readyz', '/healthz']);
      for (const probe of probes) expect((await fetch(`${url}${probe}`)).status, probe).toBe(200);
      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('roomcast_connections');
    });

    it('logs in, connects, joins a room, sends and gets its message back; SIGTERM drains with 1012 and exit 0', async () => {
      const login = await fetch(`${url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'image-tester' }),
      });
      expect(login.status).toBe(200);
      const { token, user } = (await login.json()) as { token: string; user: { id: string; name: string } };

      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${encodeURIComponent(token)}`);
      const frames = new FrameQueue(socket);
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      const welcome = await frames.next((f) => f.type === 'welcome');
      expect(welcome).toMatchObject({ node: NODE_ID, user });

      socket.send(JSON.stringify({ type: 'join', room: 'deploy-image' }));
      expect(await frames.next((f) => f.type === 'joined' || f.type === 'error')).toMatchObject({
        type: 'joined',
        room: 'deploy-image',
      });

      socket.send(JSON.stringify({ type: 'send', room: 'deploy-image', text: 'hello from the image', ref: 'r1' }));
      const echo = await frames.next((f) => f.ref === 'r1');
      expect(echo).toMatchObject({ type: 'message', room: 'deploy-image', text: 'hello from the image', user });
      expect(String(echo.id)).toMatch(/^\d+-\d+$/);

      // docker stop / Kubernetes send SIGTERM to PID 1, which is node itself.
      process.kill(server?.pid ?? 0, 'SIGTERM');
      expect(await closed).toBe(1012);
      const exit = await server?.exited;
      expect(exit).toEqual({ code: 0, signal: null });
    });
  });
});
