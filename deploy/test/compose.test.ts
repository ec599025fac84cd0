/**
 * docker-compose.yml: validated by the real docker-compose, then checked for
 * what issue 5 asks of it. There is no Docker engine here, so `up` cannot run;
 * deploy/test/image.test.ts runs what the image would run instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@roomcast/deploy/local';
import {
  chatServices,
  composeConfig,
  composeFile,
  durationSeconds,
  hasCompose,
  interpolate,
  parseCompose,
  publishedPort,
  serviceEnvironment,
  type ComposeConfig,
  type ComposeService,
} from './support/compose.js';
import { copyPaths, healthcheckCommand, readDockerfile } from './support/dockerfile.js';
import { isIgnored, readDockerignore } from './support/dockerignore.js';
import { startDeployedRedis } from './support/redis-persistence.js';
import { loadServerConfig, serverEnvVariables } from './support/server-config.js';

const DUMMY_SECRET = 'compose-config-test-secret-0123456789abcdef';
const DUMMY_REDIS_PASSWORD = 'compose-config-test-redis-password-0123456789';
const SECRETS = { CHAT_JWT_SECRET: DUMMY_SECRET, REDIS_PASSWORD: DUMMY_REDIS_PASSWORD };
const rawText = readFileSync(composeFile, 'utf8');
const raw = parseCompose(rawText);
const envExample = readFileSync(path.join(repoRoot, 'deploy/docker/.env.example'), 'utf8');
const dockerfile = readDockerfile(path.join(repoRoot, 'deploy/docker/Dockerfile'));

if (!hasCompose) {
  console.warn('docker-compose is not installed (apt-get install docker-compose): skipping `docker-compose config`');
}

describe.skipIf(!hasCompose)('docker-compose config (the real tool)', () => {
  let resolved: ComposeConfig;

  beforeAll(async () => {
    const result = await composeConfig(SECRETS);
    expect(result.code, result.output).toBe(0);
    resolved = parseCompose(result.output);
  });

  /** Every published port, as [service, mapping]. */
  const published = (config: ComposeConfig): Array<[string, ReturnType<typeof publishedPort>]> =>
    Object.entries(config.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, publishedPort(p)] as [string, ReturnType<typeof publishedPort>]));

  it('accepts the file and resolves three replicas with both secrets from the environment', () => {
    const chats = chatServices(resolved);
    expect(chats.map(([name]) => name)).toEqual(['chat-1', 'chat-2', 'chat-3']);
    for (const [, service] of chats) {
      expect(service.environment?.CHAT_JWT_SECRET).toBe(DUMMY_SECRET);
      // Compose merges the Redis env_file (ROOMCAST_REDIS, single by default) into the environment.
      expect(service.environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(service.environment?.REDIS_PASSWORD).toBe(DUMMY_REDIS_PASSWORD);
      expect(service.environment?.TRUST_PROXY).toBe('uniquelocal');
      expect(service.environment?.GUEST_LOGIN).toBe('false');
    }
    const redis = resolved.services.redis as ComposeService;
    const command = redis.command as string[];
    expect(command[command.indexOf('--requirepass') + 1]).toBe(DUMMY_REDIS_PASSWORD);
    expect(redis.environment?.REDISCLI_AUTH).toBe(DUMMY_REDIS_PASSWORD);
  });

  it('refuses to start without CHAT_JWT_SECRET or without REDIS_PASSWORD, naming it', async () => {
    for (const missing of ['CHAT_JWT_SECRET', 'REDIS_PASSWORD'] as const) {
      const vars: Record<string, string> = { ...SECRETS };
      delete vars[missing];
      const result = await composeConfig(vars);
      expect(result.code, missing).not.toBe(0);
      expect(result.output, missing).toContain(`set ${missing} in .env`);
    }
  });

  it('publishes exactly one port: nginx 8080 -> 80, on 127.0.0.1 unless ROOMCAST_BIND says otherwise', async () => {
    expect(published(resolved)).toEqual([['nginx', { hostIp: '127.0.0.1', published: 8080, target: 80 }]]);
    const everywhere = await composeConfig({ ...SECRETS, ROOMCAST_BIND: '0.0.0.0' });
    expect(everywhere.code, everywhere.output).toBe(0);
    expect(published(parseCompose(everywhere.output))).toEqual([['nginx', { hostIp: '0.0.0.0', published: 8080, target: 80 }]]);
  });

  describe('with .env copied from deploy/docker/.env.example', () => {
    const filledIn = envExample
      .replace(/^CHAT_JWT_SECRET=$/m, `CHAT_JWT_SECRET=${DUMMY_SECRET}`)
      .replace(/^REDIS_PASSWORD=$/m, `REDIS_PASSWORD=${DUMMY_REDIS_PASSWORD}`);

    it('refuses to start until both secrets are filled in', async () => {
      const asCopied = await composeConfig({}, envExample);
      expect(asCopied.code).not.toBe(0);
      expect(asCopied.output).toMatch(/set (CHAT_JWT_SECRET|REDIS_PASSWORD) in \.env/);
      const onlyJwt = await composeConfig({}, envExample.replace(/^CHAT_JWT_SECRET=$/m, `CHAT_JWT_SECRET=${DUMMY_SECRET}`));
      expect(onlyJwt.code).not.toBe(0);
      expect(onlyJwt.output).toContain('set REDIS_PASSWORD in .env');
    });

    it('filled in: guest login off, nginx on 127.0.0.1 only', async () => {
      expect(filledIn).not.toBe(envExample);
      const result = await composeConfig({}, filledIn);
      expect(result.code, result.output).toBe(0);
      const config = parseCompose(result.output);
      for (const [name, s] of chatServices(config)) expect(s.environment?.GUEST_LOGIN, name).toBe('false');
      expect(published(config)).toEqual([['nginx', { hostIp: '127.0.0.1', published: 8080, target: 80 }]]);
    });

    it('the demo is one uncommented line: GUEST_LOGIN=true', async () => {
      const demo = filledIn.replace(/^# GUEST_LOGIN=true$/m, 'GUEST_LOGIN=true');
      expect(demo).not.toBe(filledIn);
      const result = await composeConfig({}, demo);
      expect(result.code, result.output).toBe(0);
      for (const [name, s] of chatServices(parseCompose(result.output))) expect(s.environment?.GUEST_LOGIN, name).toBe('true');
    });
  });

  it('gives the replicas an environment the server accepts: Redis with its password, proxies trusted, no guest login', async () => {
    for (const [name, s] of chatServices(resolved)) {
      // NODE_ENV=production comes from the image (image.test.ts checks it).
      const config = await loadServerConfig({ NODE_ENV: 'production', ...s.environment });
      expect(config.redis, name).toMatchObject({ mode: 'single', url: 'redis://redis:6379', password: DUMMY_REDIS_PASSWORD });
      expect(config.trustProxy, name).toEqual(['uniquelocal']);
      expect(config.guestLogin, name).toBe(false);
    }
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
      const env = serviceEnvironment(s, { REDIS_PASSWORD: 'pw', CHAT_JWT_SECRET: 'x' });
      expect(env.REDIS_URL, name).toBe('redis://redis:6379');
      expect(env.REDIS_PASSWORD, name).toBe('pw');
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

  it('commits no secret: CHAT_JWT_SECRET and REDIS_PASSWORD are only ever interpolated from the environment', () => {
    for (const [name, s] of chats) {
      expect(s.environment?.CHAT_JWT_SECRET, name).toMatch(/^\$\{CHAT_JWT_SECRET:\?[^}]*\}$/);
    }
    // Nothing that looks like a literal secret anywhere in the file.
    expect(rawText).not.toMatch(/CHAT_JWT_SECRET\s*[:=]\s*['"]?(?!\$\{)[A-Za-z0-9]/);
    // Every use of the Redis password is `${REDIS_PASSWORD:?...}`: required, never defaulted.
    // (The replicas' variable is named REDIS_PASSWORD too: that key is the one other mention.)
    const required = /\$\{REDIS_PASSWORD:\?[^}]+\}/g;
    expect((rawText.match(required) ?? []).length).toBeGreaterThanOrEqual(3);
    const withoutKey = rawText.replace(/#.*$/gm, '').replace(/^\s*REDIS_PASSWORD: (?=\$\{REDIS_PASSWORD:\?)/m, '');
    expect(withoutKey.replace(required, '')).not.toContain('REDIS_PASSWORD');
    const example = envExample;
    expect(example).toMatch(/^CHAT_JWT_SECRET=$/m);
    expect(example).toMatch(/^REDIS_PASSWORD=$/m);
    expect(readFileSync(path.join(repoRoot, '.gitignore'), 'utf8')).toMatch(/^\.env$/m);
    expect(readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')).toMatch(/^\.env$/m);
  });

  it('ships the demo as an opt-in: no guest login unless .env turns it on, nginx on 127.0.0.1 unless .env says otherwise', () => {
    for (const [name, s] of chats) {
      expect(interpolate(s.environment?.GUEST_LOGIN ?? '', {}), name).toBe('false');
      expect(interpolate(s.environment?.TRUST_PROXY ?? '', {}), name).toBe('uniquelocal');
    }
    expect(envExample).not.toMatch(/^\s*GUEST_LOGIN\s*=/m);
    expect(envExample).toMatch(/^# GUEST_LOGIN=true$/m);
    expect(envExample).toMatch(/^ROOMCAST_BIND=127\.0\.0\.1$/m);
    const [port] = services.nginx?.ports ?? [];
    expect(publishedPort(interpolate(String(port), {}))).toEqual({ hostIp: '127.0.0.1', published: 8080, target: 80 });
  });

  it('sets only variables the server reads (its environment and every Redis mode file)', () => {
    const known = serverEnvVariables();
    expect(known.size).toBeGreaterThan(10);
    for (const [name, s] of chats) {
      for (const mode of ['single', 'sentinel', 'cluster']) {
        const env = serviceEnvironment(s, { ROOMCAST_REDIS: mode, REDIS_PASSWORD: 'pw', CHAT_JWT_SECRET: 'x' });
        for (const variable of Object.keys(env)) expect(known, `${name} (${mode}): ${variable}`).toContain(variable);
      }
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
    // The password reaches redis-cli through REDISCLI_AUTH, never on a command line (`-a`).
    expect(JSON.stringify(redis.healthcheck?.test)).not.toMatch(/\s-a\s|PASSWORD|AUTH/);
    expect(redis.environment?.REDISCLI_AUTH).toMatch(/^\$\{REDIS_PASSWORD:\?[^}]+\}$/);
    expect(option('requirepass')).toMatch(/^\$\{REDIS_PASSWORD:\?[^}]+\}$/);
  });

  describe('Redis started with the compose command line (the real redis-server)', () => {
    const redisService = services.redis as ComposeService;
    const [binary = '', ...args] = (redisService.command as string[]).map((arg) => interpolate(arg, SECRETS));
    const redisEnv = Object.fromEntries(Object.entries(redisService.environment ?? {}).map(([k, v]) => [k, interpolate(v, SECRETS)]));
    let redis: Awaited<ReturnType<typeof startDeployedRedis>>;

    beforeAll(async () => {
      expect(binary).toBe('redis-server');
      redis = await startDeployedRedis({ argv: [binary, ...args], env: redisEnv });
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('applies its persistence settings', async () => {
      expect(await redis.persistence(DUMMY_REDIS_PASSWORD)).toEqual({ appendonly: 'yes', appendfsync: 'everysec', save: '900 1 300 10 60 10000' });
    });

    it('refuses clients without the password, and the replicas’ REDIS_PASSWORD is it', async () => {
      await expect(redis.command(['PING'])).rejects.toThrow(/^NOAUTH/);
      for (const [name, s] of chats) {
        const env = serviceEnvironment(s, SECRETS);
        expect(new URL(env.REDIS_URL ?? '').password, name).toBe('');
        expect(await redis.command(['PING'], { password: env.REDIS_PASSWORD }), name).toBe('PONG');
      }
    });

    it('passes its health check, which authenticates with REDISCLI_AUTH (and fails without it)', async () => {
      const test = redisService.healthcheck?.test as string[];
      expect(test[0]).toBe('CMD-SHELL');
      const shell = test.slice(1).join(' ');
      const withAuth = await redis.probe(shell, redisEnv);
      expect(withAuth.code, withAuth.output).toBe(0);
      const { REDISCLI_AUTH: _auth, ...withoutAuth } = redisEnv;
      expect((await redis.probe(shell, withoutAuth)).code).not.toBe(0);
    });
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
    expect(nginx.ports).toEqual(['${ROOMCAST_BIND:-127.0.0.1}:${ROOMCAST_PORT:-8080}:80']);
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
