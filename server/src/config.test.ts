import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_JWT_SECRET, loadConfig } from './config.js';

const SECRET = 's'.repeat(32);

/** Runs loadConfig and returns the ConfigError it throws. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

function expectRefused(env: Record<string, string>, variable: string): void {
  const err = configError(env);
  expect(err.variable).toBe(variable);
  expect(err.message).toContain(variable);
}

describe('Redis modes: exactly one setting', () => {
  it('reads Sentinel and Cluster addresses, and passes credentials and TLS to every mode', () => {
    expect(loadConfig({ REDIS_SENTINELS: '10.0.0.1:26379, [::1]:26380', REDIS_SENTINEL_NAME: 'mymaster', REDIS_PASSWORD: 'pw' }).redis).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: 'mymaster',
      password: 'pw',
      username: undefined,
      tls: false,
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'redis-0:6379,redis-1:6379', REDIS_TLS: 'true', REDIS_USERNAME: 'chat' }).redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'redis-0', port: 6379 },
        { host: 'redis-1', port: 6379 },
      ],
      username: 'chat',
      password: undefined,
      tls: true,
    });
  });

  it.each([
    [{ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'a:1' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_SENTINELS: 'a:1', REDIS_URL: 'redis://a:1' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: 'a:1' }, 'REDIS_SENTINEL_NAME'],
    [{ REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINEL_NAME'],
    [{ REDIS_CLUSTER_NODES: 'a' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: 'a:99999' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_TLS: 'maybe' }, 'REDIS_TLS'],
  ])('refuses %j, naming %s', (env, variable) => {
    expectRefused(env, variable);
  });
});

describe('loadConfig defaults', () => {
  it('gives a runnable single-process config from an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      redis: undefined,
      production: false,
      jwtSecret: DEV_JWT_SECRET,
      devSecret: true,
      guestLogin: true,
      logLevel: 'info',
      webRoot: undefined,
      historyMaxLen: 1000,
      rateMessagesPerSec: 10,
      rateBurst: 30,
      presenceHeartbeatMs: 5000,
      presenceTtlMs: 11000,
    });
    expect(config.nodeId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(config.maxBufferedBytes).toBeGreaterThan(0);
    // A crashed replica's users must leave within 15 s by default.
    expect(config.presenceTtlMs + config.presenceSweepMs).toBeLessThanOrEqual(15_000);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '', CHAT_JWT_SECRET: '', LOG_LEVEL: '' })).toMatchObject({
      port: 3000,
      redis: undefined,
      devSecret: true,
      logLevel: 'info',
    });
  });

  it('reads every documented variable', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://127.0.0.1:7000',
      NODE_ID: 'n1',
      CHAT_JWT_SECRET: SECRET,
      LOG_LEVEL: 'warn',
      WEB_ROOT: '/srv/web',
      HISTORY_MAX_LEN: '20',
      RATE_MESSAGES_PER_SEC: '2.5',
      RATE_BURST: '5',
      PRESENCE_HEARTBEAT_MS: '500',
      PRESENCE_TTL_MS: '1500',
      PRESENCE_SWEEP_MS: '250',
      MAX_BUFFERED_BYTES: '1048576',
    });
    expect(config).toMatchObject({
      port: 0,
      host: '0.0.0.0',
      redis: { mode: 'single', url: 'redis://127.0.0.1:7000', tls: false },
      nodeId: 'n1',
      jwtSecret: SECRET,
      devSecret: false,
      logLevel: 'warn',
      webRoot: '/srv/web',
      historyMaxLen: 20,
      rateMessagesPerSec: 2.5,
      rateBurst: 5,
      presenceHeartbeatMs: 500,
      presenceTtlMs: 1500,
      presenceSweepMs: 250,
      maxBufferedBytes: 1048576,
    });
  });
});

describe('loadConfig refuses invalid values, naming the variable', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['HISTORY_MAX_LEN', '0'],
    ['HISTORY_MAX_LEN', 'lots'],
    ['RATE_MESSAGES_PER_SEC', '0'],
    ['RATE_MESSAGES_PER_SEC', 'fast'],
    ['RATE_BURST', '1.5'],
    ['RATE_BURST', '0'],
    ['PRESENCE_HEARTBEAT_MS', 'Infinity'],
    ['MAX_BUFFERED_BYTES', '12'],
    ['LOG_LEVEL', 'loud'],
    ['GUEST_LOGIN', 'maybe'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_URL', '127.0.0.1:6379'],
    ['NODE_ID', 'has space'],
    ['NODE_ID', 'x'.repeat(65)],
  ])('%s=%s', (variable, value) => {
    expectRefused({ [variable]: value }, variable);
  });

  it('refuses a presence TTL not longer than the heartbeat', () => {
    expectRefused({ PRESENCE_HEARTBEAT_MS: '1000', PRESENCE_TTL_MS: '1000' }, 'PRESENCE_TTL_MS');
  });
});

describe('loadConfig and the JWT secret', () => {
  it('refuses production without CHAT_JWT_SECRET', () => {
    expectRefused({ NODE_ENV: 'production' }, 'CHAT_JWT_SECRET');
    expectRefused({ NODE_ENV: 'production', CHAT_JWT_SECRET: '' }, 'CHAT_JWT_SECRET');
  });

  it('refuses a secret shorter than 32 bytes, in any mode', () => {
    expectRefused({ CHAT_JWT_SECRET: 'short' }, 'CHAT_JWT_SECRET');
    expectRefused({ CHAT_JWT_SECRET: 's'.repeat(31) }, 'CHAT_JWT_SECRET');
    expectRefused({ NODE_ENV: 'production', CHAT_JWT_SECRET: 's'.repeat(31) }, 'CHAT_JWT_SECRET');
    expect(loadConfig({ CHAT_JWT_SECRET: SECRET }).jwtSecret).toBe(SECRET);
  });

  it('runs in production with a secret, with the guest login off unless asked for', () => {
    const config = loadConfig({ NODE_ENV: 'production', CHAT_JWT_SECRET: SECRET });
    expect(config).toMatchObject({ production: true, devSecret: false, jwtSecret: SECRET, guestLogin: false });
    expect(loadConfig({ NODE_ENV: 'production', CHAT_JWT_SECRET: SECRET, GUEST_LOGIN: 'true' }).guestLogin).toBe(true);
    expect(loadConfig({ GUEST_LOGIN: 'off' }).guestLogin).toBe(false);
  });
});
