/**
 * docker-compose.yml's Redis modes: the opt-in profiles `sentinel` and
 * `cluster`, and ROOMCAST_REDIS, which points the replicas at them. Checked
 * with the real docker-compose (config), the server's own loadConfig, and the
 * profiles' shell scripts run for real by sh (with stand-ins for the
 * binaries that would need Docker's network: redis-cli towards other
 * containers, getent, and the final exec of redis-server), plus a real
 * Sentinel from the config file its script writes and a real cluster node
 * from its command line.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, redisCommand, repoRoot, startRedisProcess, waitUntilNoProblem, type RespValue } from '@roomcast/deploy/local';
import { run } from './support/child.js';
import {
  chatServices,
  composeConfig,
  composeFile,
  defaultServices,
  hasCompose,
  interpolate,
  parseCompose,
  profileServices,
  serviceEnvironment,
  type ComposeService,
} from './support/compose.js';
import { startDeployedRedis } from './support/redis-persistence.js';
import { loadServerConfig } from './support/server-config.js';

const PASSWORD = 'compose-modes-test-redis-password-0123456789';
const SECRETS = { CHAT_JWT_SECRET: 'compose-modes-test-secret-0123456789abcdef', REDIS_PASSWORD: PASSWORD };
const raw = parseCompose(await readFile(composeFile, 'utf8'));
const services = raw.services;
const envExample = await readFile(path.join(repoRoot, 'deploy/docker/.env.example'), 'utf8');

const service = (name: string): ComposeService => {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};
/** The `sh -c` script of a service, as the container's shell gets it ($$ → $). */
const script = (name: string): string => {
  const command = service(name).command as string[];
  expect(command.slice(0, 2)).toEqual(['sh', '-c']);
  return interpolate(command[2] ?? '', SECRETS);
};
const sentinels = profileServices(raw, 'sentinel').filter((name) => /^sentinel-\d+$/.test(name));
const clusterNodes = profileServices(raw, 'cluster').filter((name) => /^redis-node-\d+$/.test(name));

describe('Redis modes in docker-compose.yml: structure', () => {
  it('runs one redis-server, three replicas and nginx unless a profile is asked for', () => {
    expect(defaultServices(raw).sort()).toEqual(['chat-1', 'chat-2', 'chat-3', 'nginx', 'redis']);
    expect(profileServices(raw, 'sentinel').sort()).toEqual(['redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3']);
    expect(profileServices(raw, 'cluster').sort()).toEqual([
      'redis-cluster-init', 'redis-node-1', 'redis-node-2', 'redis-node-3', 'redis-node-4', 'redis-node-5', 'redis-node-6',
    ]);
  });

  it('runs every profile server from the same pinned image as redis, with a health check, restarts and the password from .env', () => {
    for (const name of [...profileServices(raw, 'sentinel'), ...profileServices(raw, 'cluster')]) {
      const s = service(name);
      expect(s.image, name).toBe(service('redis').image);
      expect(s.environment?.REDISCLI_AUTH, name).toMatch(/^\$\{REDIS_PASSWORD:\?[^}]+\}$/);
      if (name === 'redis-cluster-init') {
        expect(s.restart).toBe('no');
        continue;
      }
      expect(s.restart, name).toBe('unless-stopped');
      expect(JSON.stringify(s.healthcheck?.test), name).toContain('redis-cli');
    }
  });

  it('points the replicas at each mode through its env file: exactly the services of the profile', async () => {
    const [, chat] = chatServices(raw)[0]!;
    const env = (mode: string): Record<string, string> => serviceEnvironment(chat, { ...SECRETS, ROOMCAST_REDIS: mode });

    const single = await loadServerConfig(env('single'));
    expect(single.redis).toMatchObject({ mode: 'single', url: 'redis://redis:6379', password: PASSWORD });

    const sentinel = await loadServerConfig(env('sentinel'));
    expect(sentinel.redis).toMatchObject({ mode: 'sentinel', name: 'mymaster', password: PASSWORD });
    expect(sentinel.redis?.mode === 'sentinel' && sentinel.redis.sentinels).toEqual(sentinels.map((host) => ({ host, port: 26379 })));
    expect(sentinels).toHaveLength(3);
    // The replicas ask for the master the Sentinels monitor.
    const monitor = /sentinel monitor (\S+) redis 6379 (\d+)/.exec(script('sentinel-1'));
    expect(monitor?.[1]).toBe('mymaster');
    expect(Number(monitor?.[2])).toBe(2); // a majority of three

    const cluster = await loadServerConfig(env('cluster'));
    expect(cluster.redis).toMatchObject({ mode: 'cluster', password: PASSWORD });
    expect(cluster.redis?.mode === 'cluster' && cluster.redis.nodes).toEqual(clusterNodes.map((host) => ({ host, port: 6379 })));
    expect(clusterNodes).toHaveLength(6);
    // Each mode sets one way to reach Redis, never REDIS_URL next to another.
    expect(Object.keys(env('sentinel')).filter((k) => k.startsWith('REDIS_')).sort()).toEqual(['REDIS_PASSWORD', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME']);
    expect(Object.keys(env('cluster')).filter((k) => k.startsWith('REDIS_')).sort()).toEqual(['REDIS_CLUSTER_NODES', 'REDIS_PASSWORD']);
  });

  it('creates the cluster from exactly the cluster nodes, once each is healthy, three masters with a replica each', () => {
    const init = service('redis-cluster-init');
    expect(init.depends_on).toEqual(Object.fromEntries(clusterNodes.map((name) => [name, { condition: 'service_healthy' }])));
    const numbers = /for n in ([\d ]+); do/.exec(script('redis-cluster-init'))?.[1]?.trim().split(/\s+/);
    expect(numbers?.map((n) => `redis-node-${n}`)).toEqual(clusterNodes);
    expect(script('redis-cluster-init')).toContain('--cluster-replicas 1');
    for (const name of clusterNodes) {
      const command = (service(name).command as string[]).map((arg) => interpolate(arg, SECRETS));
      const option = (o: string): string | undefined => command[command.indexOf(`--${o}`) + 1];
      expect(option('cluster-enabled'), name).toBe('yes');
      expect(option('requirepass'), name).toBe(PASSWORD);
      expect(option('masterauth'), name).toBe(PASSWORD);
      expect(option('appendonly'), name).toBe('yes');
    }
  });

  it('lets `redis` serve as a replica after a Sentinel failover: masterauth and its name announced', () => {
    const command = (service('redis').command as string[]).map((arg) => interpolate(arg, SECRETS));
    expect(command[command.indexOf('--masterauth') + 1]).toBe(PASSWORD);
    expect(command[command.indexOf('--replica-announce-ip') + 1]).toBe('redis');
    expect(service('redis-replica').depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    for (const name of sentinels) expect(service(name).depends_on, name).toEqual({ redis: { condition: 'service_healthy' } });
  });
});

describe.skipIf(!hasCompose)('Redis modes: docker-compose config (the real tool)', () => {
  it('accepts the file with and without each profile', async () => {
    for (const args of [[], ['--profile', 'sentinel'], ['--profile', 'cluster'], ['--profile', 'sentinel', '--profile', 'cluster']]) {
      const result = await composeConfig(SECRETS, '', args);
      expect(result.code, `${args.join(' ')}\n${result.output}`).toBe(0);
    }
  });

  it('the mode switch is one uncommented pair of lines in .env, and the replicas get that mode only', async () => {
    const filledIn = envExample
      .replace(/^CHAT_JWT_SECRET=$/m, `CHAT_JWT_SECRET=${SECRETS.CHAT_JWT_SECRET}`)
      .replace(/^REDIS_PASSWORD=$/m, `REDIS_PASSWORD=${PASSWORD}`);
    for (const mode of ['sentinel', 'cluster']) {
      const envText = filledIn
        .replace(new RegExp(`^# COMPOSE_PROFILES=${mode}$`, 'm'), `COMPOSE_PROFILES=${mode}`)
        .replace(new RegExp(`^# ROOMCAST_REDIS=${mode}$`, 'm'), `ROOMCAST_REDIS=${mode}`);
      expect(envText.match(/^(COMPOSE_PROFILES|ROOMCAST_REDIS)=.*$/gm), mode).toEqual([`COMPOSE_PROFILES=${mode}`, `ROOMCAST_REDIS=${mode}`]);
      const result = await composeConfig({}, envText);
      expect(result.code, result.output).toBe(0);
      for (const [name, s] of chatServices(parseCompose(result.output))) {
        const config = await loadServerConfig({ NODE_ENV: 'production', ...s.environment });
        expect(config.redis?.mode, `${mode}: ${name}`).toBe(mode);
        expect(config.redis?.password, `${mode}: ${name}`).toBe(PASSWORD);
        expect(s.environment?.REDIS_URL, `${mode}: ${name}`).toBeUndefined();
      }
    }
  });

  it('refuses an unknown ROOMCAST_REDIS, naming the env file it lacks', async () => {
    const result = await composeConfig({ ...SECRETS, ROOMCAST_REDIS: 'sentinal' });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('redis-sentinal.env');
  });
});

describe("the profiles' scripts, run by sh", () => {
  let dir: string;
  let bin: string;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-compose-scripts-'));
    bin = path.join(dir, 'bin');
    await run('mkdir', ['-p', bin]);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A stand-in executable on PATH. */
  const fake = async (name: string, body: string): Promise<void> => {
    const file = path.join(bin, name);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
  };
  /** Runs a service's script in `cwd` (the container's /data) with our stand-ins first on PATH. */
  const runScript = async (name: string, cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> =>
    run('sh', ['-c', script(name)], { cwd, env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, REDISCLI_AUTH: PASSWORD, ...env } });

  it('sentinel: writes a config once, whose auth-pass a real Sentinel uses to watch a real master that requires the password', async () => {
    const data = await mkdtemp(path.join(dir, 'sentinel-'));
    await fake('redis-server', 'echo "redis-server $*"');
    const first = await runScript('sentinel-1', data);
    expect(first.code, first.output).toBe(0);
    expect(first.output.trim()).toBe('redis-server sentinel.conf --sentinel');
    const conf = await readFile(path.join(data, 'sentinel.conf'), 'utf8');
    expect(conf).toContain(`sentinel auth-pass mymaster "${PASSWORD}"`);
    // Sentinel rewrites the file with what it learns: a restart must not overwrite it.
    await writeFile(path.join(data, 'sentinel.conf'), `${conf}# learned\n`);
    expect((await runScript('sentinel-1', data)).code).toBe(0);
    expect(await readFile(path.join(data, 'sentinel.conf'), 'utf8')).toBe(`${conf}# learned\n`);

    // The master, started with the `redis` service's own command line.
    const redisService = service('redis');
    const master = await startDeployedRedis({
      argv: (redisService.command as string[]).map((arg) => interpolate(arg, SECRETS)),
      env: Object.fromEntries(Object.entries(redisService.environment ?? {}).map(([k, v]) => [k, interpolate(v, SECRETS)])),
    });
    cleanups.push(() => master.stop());
    // The generated file, with loopback addresses for the compose host names.
    const port = await freePort();
    const local = conf
      .replace(/^port 26379$/m, `port ${port}\nbind 127.0.0.1`)
      .replace(/^sentinel monitor mymaster redis 6379 2$/m, `sentinel monitor mymaster 127.0.0.1 ${master.port} 2`);
    expect(local).not.toBe(conf);
    await writeFile(path.join(data, 'local.conf'), local);
    const sentinel = await startRedisProcess({ port, args: [path.join(data, 'local.conf'), '--sentinel'], what: 'the compose Sentinel' });
    cleanups.push(() => sentinel.stop());
    // It reads the master's INFO only once authenticated: role-reported and a fresh info-refresh say it is.
    await waitUntilNoProblem(
      async () => {
        const list = (await redisCommand(port, ['SENTINEL', 'master', 'mymaster'])) as RespValue[];
        const fields = new Map<string, string>();
        for (let i = 0; i + 1 < list.length; i += 2) fields.set(String(list[i]), String(list[i + 1]));
        if (fields.get('role-reported') !== 'master') return `role-reported ${fields.get('role-reported')}`;
        if (Number(fields.get('info-refresh')) > 10_000) return `info-refresh ${fields.get('info-refresh')}`;
        return fields.get('flags') === 'master' ? undefined : `flags ${fields.get('flags')}`;
      },
      { what: 'the Sentinel to read the master with its auth-pass', timeoutMs: 15_000 },
    );
  });

  it('redis-replica: replicates whoever the Sentinels name (redis on a first start), or is master if they name it; asks them without a password', async () => {
    const data = await mkdtemp(path.join(dir, 'replica-'));
    await fake('redis-server', 'echo "redis-server $*"');
    // A Sentinel answers with FAKE_MASTER (none: unreachable, as before any Sentinel runs).
    await fake('redis-cli', 'echo "auth=${REDISCLI_AUTH:-none}" >&2\n[ -n "$FAKE_MASTER" ] || exit 1\nprintf "%s\\n6379\\n" "$FAKE_MASTER"');
    const cases: Array<[string, string | undefined]> = [
      ['', '--replicaof redis 6379'],
      ['redis', '--replicaof redis 6379'],
      ['redis-replica', undefined],
    ];
    for (const [answer, expected] of cases) {
      const result = await runScript('redis-replica', data, answer ? { FAKE_MASTER: answer } : {});
      expect(result.code, result.output).toBe(0);
      const line = result.output.split('\n').find((l) => l.startsWith('redis-server ')) ?? '';
      expect(line, answer).toContain(`--requirepass ${PASSWORD} --masterauth ${PASSWORD} --replica-announce-ip redis-replica`);
      if (expected) expect(line, answer).toContain(expected);
      else expect(line, answer).not.toContain('--replicaof');
      expect(result.output).not.toContain(`auth=${PASSWORD}`);
    }
  });

  it('redis-cluster-init: creates the cluster from the six nodes’ addresses, authenticated, and only once', async () => {
    const data = await mkdtemp(path.join(dir, 'init-'));
    await fake('getent', 'case "$2" in redis-node-[1-6]) n=${2#redis-node-}; echo "10.0.0.$n   $2";; *) exit 2;; esac');
    await fake(
      'redis-cli',
      'case "$*" in\n' +
        '  *"cluster info"*) printf "cluster_state:fail\\r\\ncluster_known_nodes:%s\\r\\n" "$FAKE_KNOWN";;\n' +
        '  *"--cluster create"*) echo "CREATE $* auth=${REDISCLI_AUTH:-none}";;\n' +
        '  *) exit 3;;\n' +
        'esac',
    );
    const fresh = await runScript('redis-cluster-init', data, { FAKE_KNOWN: '1' });
    expect(fresh.code, fresh.output).toBe(0);
    const addresses = clusterNodes.map((_, i) => `10.0.0.${i + 1}:6379`).join(' ');
    expect(fresh.output.trim()).toBe(`CREATE --cluster create ${addresses} --cluster-replicas 1 --cluster-yes auth=${PASSWORD}`);

    const again = await runScript('redis-cluster-init', data, { FAKE_KNOWN: '6' });
    expect(again.code, again.output).toBe(0);
    expect(again.output).not.toContain('CREATE');
    expect(again.output).toContain('knows 6 nodes');
  });

  it('a cluster node started with its compose command line is cluster-enabled and refuses clients without the password', async () => {
    const node = service('redis-node-1');
    const redis = await startDeployedRedis({
      argv: (node.command as string[]).map((arg) => interpolate(arg, SECRETS)),
      env: Object.fromEntries(Object.entries(node.environment ?? {}).map(([k, v]) => [k, interpolate(v, SECRETS)])),
    });
    cleanups.push(() => redis.stop());
    await expect(redis.command(['PING'])).rejects.toThrow(/^NOAUTH/);
    expect(String(await redis.command(['INFO', 'cluster'], { password: PASSWORD }))).toContain('cluster_enabled:1');
    expect(await redis.config('cluster-node-timeout', PASSWORD)).toBe('5000');
    expect(await redis.config('masterauth', PASSWORD)).toBe(PASSWORD);
  });
});
