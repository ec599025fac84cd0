/**
 * docker-compose.yml: validated by the real docker-compose, then checked for
 * what issue 5 asks of it. There is no Docker engine here, so `up` cannot run;
 * deploy/test/image.test.ts runs what the image would run instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@roomcast/deploy/local';
import {
  chatServices,
  composeConfig,
  composeFile,
  durationSeconds,
  hasCompose,
  parseCompose,
  type ComposeConfig,
  type ComposeService,
} from './support/compose.js';
import { copyPaths, healthcheckCommand, readDockerfile } from './support/dockerfile.js';
import { isIgnored, readDockerignore } from './support/dockerignore.js';
import { appliedPersistence } from './support/redis-persistence.js';
import { serverEnvVariables } from './support/server-config.js';

const DUMMY_SECRET = 'compose-config-test-secret-0123456789abcdef';
const rawText = readFileSync(composeFile, 'utf8');
const raw = parseCompose(rawText);
const dockerfile = readDockerfile(path.join(repoRoot, 'deploy/docker/Dockerfile'));

if (!hasCompose) {
  console.warn('docker-compose is not installed (apt-get install docker-compose): skipping `docker-compose config`');
}

describe.skipIf(!hasCompose)('docker-compose config (the real tool)', () => {
  let resolved: ComposeConfig;

  beforeAll(async () => {
    const result = await composeConfig({ CHAT_JWT_SECRET: DUMMY_SECRET });
    expect(result.code, result.output).toBe(0);
    resolved = parseCompose(result.output);
  });

  it('accepts the file and resolves three replicas with the secret from the environment', () => {
    const chats = chatServices(resolved);
    expect(chats.map(([name]) => name)).toEqual(['chat-1', 'chat-2', 'chat-3']);
    for (const [, service] of chats) expect(service.environment?.CHAT_JWT_SECRET).toBe(DUMMY_SECRET);
  });

  it('refuses to start without CHAT_JWT_SECRET, naming it', async () => {
    const result = await composeConfig({});
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('CHAT_JWT_SECRET');
  });

  it('publishes exactly one port: nginx 8080 -> 80', () => {
    const published = Object.entries(resolved.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, p]));
    expect(published).toEqual([['nginx', { published: 8080, target: 80 }]]);
  });
});

describe('docker-compose.yml structure', () => {
  const services = raw.services;
  const chats = chatServices(raw);

  it('runs three named replicas with distinct NODE_IDs from the one server image', () => {
    expect(chats).toHaveLength(3);
    const ids = chats.map(([, s]) => s.environment?.NODE_ID);
    expect(ids).toEqual(['n1', 'n2', 'n3']);
    for (const [, s] of chats) {
      expect(s.build).toEqual({ context: '.', dockerfile: 'deploy/docker/Dockerfile', target: 'server' });
      expect(s.image).toBe(chats[0]?.[1].image);
    }
    expect(dockerfile.stages.map((s) => s.name)).toEqual(expect.arrayContaining(['server', 'web']));
  });

  it('gives every replica Redis, a /readyz health check, a drain period and a restart policy', () => {
    for (const [name, s] of chats) {
      expect(s.environment?.REDIS_URL, name).toBe('redis://redis:6379');
      expect(s.depends_on, name).toEqual({ redis: { condition: 'service_healthy' } });
      expect(s.restart, name).toBe('unless-stopped');
      expect(durationSeconds(s.stop_grace_period ?? '0s'), name).toBeGreaterThanOrEqual(30);
      const test = s.healthcheck?.test;
      expect(Array.isArray(test) && test.join(' '), name).toContain('/readyz');
    }
  });

  it('uses the same health check command as the image (one command, tested in image.test.ts)', () => {
    const fromImage = ['CMD', ...healthcheckCommand(dockerfile.stage('server'))];
    for (const [name, s] of chats) {
      const test = s.healthcheck?.test;
      // The image's check reads PORT; compose runs the replicas on 3000.
      const normalised = Array.isArray(test) ? test.map((a) => a.replace("127.0.0.1:3000/", "127.0.0.1:'+(process.env.PORT||3000)+'/")) : test;
      expect(normalised, name).toEqual(fromImage);
    }
  });

  it('commits no secret: CHAT_JWT_SECRET is only ever interpolated from the environment', () => {
    for (const [name, s] of chats) {
      expect(s.environment?.CHAT_JWT_SECRET, name).toMatch(/^\$\{CHAT_JWT_SECRET:\?[^}]*\}$/);
    }
    // Nothing that looks like a literal secret anywhere in the file.
    expect(rawText).not.toMatch(/CHAT_JWT_SECRET\s*[:=]\s*['"]?(?!\$\{)[A-Za-z0-9]/);
    const example = readFileSync(path.join(repoRoot, 'deploy/docker/.env.example'), 'utf8');
    expect(example).toMatch(/^CHAT_JWT_SECRET=$/m);
    expect(readFileSync(path.join(repoRoot, '.gitignore'), 'utf8')).toMatch(/^\.env$/m);
    expect(readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')).toMatch(/^\.env$/m);
  });

  it('sets only variables the server reads', () => {
    const known = serverEnvVariables();
    expect(known.size).toBeGreaterThan(10);
    for (const [name, s] of chats) {
      for (const variable of Object.keys(s.environment ?? {})) expect(known, `${name}: ${variable}`).toContain(variable);
    }
  });

  it('runs Redis from a pinned official image with AOF, RDB rules, a named volume and a health check', () => {
    const redis = services.redis as ComposeService;
    expect(redis.image).toMatch(/^redis:\d+\.\d+[\w.-]*$/);
    const command = redis.command as string[];
    const option = (name: string): string | undefined => command[command.indexOf(`--${name}`) + 1];
    expect(option('appendonly')).toBe('yes');
    expect(option('appendfsync')).toBe('everysec');
    expect(option('save')).toBe('900 1 300 10 60 10000');
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect(option('dir')).toBe('/data');
    expect(Object.keys(raw.volumes ?? {})).toContain('redis-data');
    expect(JSON.stringify(redis.healthcheck?.test)).toContain('redis-cli ping');
  });

  it("Redis accepts the compose command line and applies its persistence settings", async () => {
    const [binary, ...args] = services.redis?.command as string[];
    expect(binary).toBe('redis-server');
    const applied = await appliedPersistence({ args });
    expect(applied).toEqual({ appendonly: 'yes', appendfsync: 'everysec', save: '900 1 300 10 60 10000' });
  });

  it('runs nginx from the web image with the shared template, after every replica is healthy', () => {
    const nginx = services.nginx as ComposeService;
    expect(nginx.build).toEqual({ context: '.', dockerfile: 'deploy/docker/Dockerfile', target: 'web' });
    expect(dockerfile.stage('web').from).toMatch(/^nginx:\d+\.\d+[\w.-]*$/);
    expect(nginx.volumes).toEqual([
      './deploy/nginx/roomcast.conf.template:/etc/nginx/templates/roomcast.conf.template:ro',
    ]);
    expect(nginx.depends_on).toEqual(
      Object.fromEntries(chats.map(([name]) => [name, { condition: 'service_healthy' }])),
    );
    expect(nginx.ports).toEqual(['${ROOMCAST_PORT:-8080}:80']);
  });

  it('sends nginx to exactly the replicas that exist (3 -> 5 means both lists change)', () => {
    const servers = services.nginx?.environment?.ROOMCAST_UPSTREAM_SERVERS ?? '';
    const hosts = [...servers.matchAll(/server\s+([\w.-]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(hosts).toEqual(chats.map(([name]) => `${name}:3000`));
  });

  it('serves the web client from where the web image puts it', () => {
    const webRoot = services.nginx?.environment?.ROOMCAST_WEB_ROOT;
    const copy = dockerfile.stage('web').instructions.find((i) => i.keyword === 'COPY' && i.flags.get('from') === 'build');
    expect(copy?.rest).toBe(`/app/web/dist ${webRoot}`);
  });
});

describe('the Dockerfile and its build context', () => {
  const ignore = readDockerignore(path.join(repoRoot, '.dockerignore'));

  it('copies only files that exist and that .dockerignore lets into the context', () => {
    for (const stage of dockerfile.stages) {
      for (const instruction of stage.instructions.filter((i) => i.keyword === 'COPY' && !i.flags.has('from'))) {
        for (const source of copyPaths(instruction).sources) {
          expect(existsSync(path.join(repoRoot, source)), `${stage.name}: COPY ${source}`).toBe(true);
          expect(isIgnored(ignore, source), `${stage.name}: COPY ${source} is .dockerignored`).toBe(false);
        }
      }
    }
  });

  it('keeps dependencies, build output, git history and secrets out of the context', () => {
    for (const excluded of ['node_modules', 'server/node_modules', 'server/dist', 'web/dist', '.git', '.env', 'test-results']) {
      expect(isIgnored(ignore, excluded), excluded).toBe(true);
    }
    for (const needed of ['package.json', 'package-lock.json', 'server/src/main.ts', 'web/package.json', 'deploy/docker/nginx.conf']) {
      expect(isIgnored(ignore, needed), needed).toBe(false);
    }
  });

  it('pins a Node LTS slim base and an nginx version', () => {
    expect(dockerfile.stage('build').from).toBe(dockerfile.stage('server').from);
    expect(dockerfile.stage('server').from).toMatch(/^node:\d+\.\d+-bookworm-slim$/);
    expect(dockerfile.stage('web').from).toMatch(/^nginx:\d+\.\d+-alpine$/);
  });
});
