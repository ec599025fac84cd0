import { hostname } from 'node:os';

/** Every setting of a replica, read from the environment once, at start-up. */
export interface Config {
  port: number;
  host: string;
  /** Absent: the embedded in-memory broker (one process, nothing shared). */
  redis?: RedisTarget;
  nodeId: string;
  production: boolean;
  jwtSecret: string;
  /** True when the secret is the development default (never in production). */
  devSecret: boolean;
  /** Lifetime of tokens minted by the guest login. */
  tokenTtlSeconds: number;
  /** The guest login (`POST /api/login`); off by default in production. */
  guestLogin: boolean;
  logLevel: string;
  /** Directory of the built web client, served at `/`. */
  webRoot?: string;
  /** Messages kept per room (at least; trimming is done in batches above it). */
  historyMaxLen: number;
  /** Token bucket for `send` frames, per socket. */
  rateMessagesPerSec: number;
  rateBurst: number;
  /** Token bucket for `typing` frames, per socket (apart, so typing never eats the message quota). */
  rateTypingPerSec: number;
  rateTypingBurst: number;
  /** Token bucket for every other frame, per socket. */
  rateFramesPerSec: number;
  rateFramesBurst: number;
  maxRoomsPerConnection: number;
  /** A socket whose unsent bytes pass this is closed with 1013. */
  maxBufferedBytes: number;
  pingIntervalMs: number;
  presenceHeartbeatMs: number;
  presenceTtlMs: number;
  presenceSweepMs: number;
  /** How long SIGTERM waits for sockets to close before exiting anyway. */
  shutdownGraceMs: number;
  /** Redis commands that take longer fail, so a hung Redis never hangs a send. */
  redisCommandTimeoutMs: number;

  // ---- identity and access (contract v2, section A)
  /** JSON Web Key Set of the app's identity provider: RS256/ES256/EdDSA tokens signed by it are accepted. */
  authJwksUrl?: string;
  /** When set, `iss` of JWKS-signed tokens must equal it. Also the OpenID Connect issuer of the web sign-in. */
  authIssuer?: string;
  /** When set, `aud` of JWKS-signed tokens must contain it. */
  authAudience?: string;
  /** OpenID Connect client id of the web client (sign-in with authorization code + PKCE); needs AUTH_ISSUER. */
  oidcClientId?: string;
  oidcScope: string;
  /** Origins allowed to call /api and /ws from a browser; undefined: same origin only. */
  allowedOrigins?: string[];
  /** Which proxies' X-Forwarded-For to believe (fastify trustProxy): addresses, CIDRs, loopback, or true. */
  trustProxy: boolean | string[];
  /** Token bucket for HTTP writes (POST/PUT/DELETE under /api), per user. */
  rateHttpWritesPerSec: number;
  rateHttpWritesBurst: number;
  /** Token bucket for the guest login, per client address. */
  rateLoginPerSec: number;
  rateLoginBurst: number;
  /** Rooms (DMs included) one user may create. */
  maxRoomsPerUser: number;
  /** A room's data (history, record, members) expires after this long without a write; 0: never. */
  roomIdleTtlMs: number;
}

export interface HostPort {
  host: string;
  port: number;
}

/** Where Redis is: exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES. */
export type RedisTarget = (
  | { mode: 'single'; url: string }
  | { mode: 'sentinel'; sentinels: HostPort[]; name: string }
  | { mode: 'cluster'; nodes: HostPort[] }
) & {
  /** REDIS_USERNAME / REDIS_PASSWORD, for every mode (a URL's own credentials win). */
  username?: string;
  password?: string;
  /** REDIS_TLS: connect with TLS in every mode (a rediss:// URL implies it). */
  tls: boolean;
};

/** The development secret. Refused when NODE_ENV=production. */
export const DEV_JWT_SECRET = 'roomcast-development-secret-do-not-use-in-production';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const read = new EnvReader(env);
  const production = env.NODE_ENV === 'production';

  const secret = env.CHAT_JWT_SECRET;
  if (secret === undefined || secret === '') {
    if (production) throw new ConfigError('CHAT_JWT_SECRET', 'is required when NODE_ENV=production');
  } else if (Buffer.byteLength(secret) < 32) {
    throw new ConfigError('CHAT_JWT_SECRET', 'must be at least 32 bytes long');
  }
  const devSecret = !secret;

  const redis = readRedisTarget(env, read);
  const nodeId = env.NODE_ID || `${hostname()}-${process.pid}`;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(nodeId)) {
    throw new ConfigError('NODE_ID', 'must be 1-64 characters of A-Z a-z 0-9 . _ -');
  }

  const heartbeat = read.int('PRESENCE_HEARTBEAT_MS', 5000, 100, 60_000);
  const config: Config = {
    port: read.int('PORT', 3000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    redis,
    nodeId,
    production,
    jwtSecret: secret || DEV_JWT_SECRET,
    devSecret,
    tokenTtlSeconds: read.int('TOKEN_TTL_SECONDS', 24 * 3600, 1, 365 * 24 * 3600),
    guestLogin: read.bool('GUEST_LOGIN', !production),
    logLevel: read.oneOf('LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    webRoot: env.WEB_ROOT || undefined,
    historyMaxLen: read.int('HISTORY_MAX_LEN', 1000, 1, 10_000_000),
    rateMessagesPerSec: read.number('RATE_MESSAGES_PER_SEC', 10, 0.1),
    rateBurst: read.int('RATE_BURST', 30, 1, 1_000_000),
    rateTypingPerSec: read.number('RATE_TYPING_PER_SEC', 10, 0.1),
    rateTypingBurst: read.int('RATE_TYPING_BURST', 30, 1, 1_000_000),
    rateFramesPerSec: read.number('RATE_FRAMES_PER_SEC', 50, 0.1),
    rateFramesBurst: read.int('RATE_FRAMES_BURST', 200, 1, 1_000_000),
    maxRoomsPerConnection: read.int('MAX_ROOMS_PER_CONNECTION', 100, 1, 100_000),
    maxBufferedBytes: read.int('MAX_BUFFERED_BYTES', 4 * 1024 * 1024, 64 * 1024, 1024 ** 3),
    pingIntervalMs: read.int('PING_INTERVAL_MS', 30_000, 100, 600_000),
    presenceHeartbeatMs: heartbeat,
    presenceTtlMs: read.int('PRESENCE_TTL_MS', 11_000, heartbeat + 1, 600_000),
    presenceSweepMs: read.int('PRESENCE_SWEEP_MS', 2000, 50, 60_000),
    shutdownGraceMs: read.int('SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    redisCommandTimeoutMs: read.int('REDIS_COMMAND_TIMEOUT_MS', 3000, 50, 60_000),
    authJwksUrl: read.url('AUTH_JWKS_URL', ['http:', 'https:']),
    authIssuer: env.AUTH_ISSUER || undefined,
    authAudience: env.AUTH_AUDIENCE || undefined,
    oidcClientId: env.OIDC_CLIENT_ID || undefined,
    oidcScope: env.OIDC_SCOPE || 'openid profile',
    allowedOrigins: read.origins('ALLOWED_ORIGINS'),
    trustProxy: read.trustProxy('TRUST_PROXY', ['loopback']),
    rateHttpWritesPerSec: read.number('RATE_HTTP_WRITES_PER_SEC', 10, 0.1),
    rateHttpWritesBurst: read.int('RATE_HTTP_WRITES_BURST', 30, 1, 1_000_000),
    rateLoginPerSec: read.number('RATE_LOGIN_PER_SEC', 10, 0.1),
    rateLoginBurst: read.int('RATE_LOGIN_BURST', 30, 1, 1_000_000),
    maxRoomsPerUser: read.int('MAX_ROOMS_PER_USER', 100, 0, 1_000_000),
    roomIdleTtlMs: read.int('ROOM_IDLE_TTL_DAYS', 90, 0, 36_500) * 24 * 3600 * 1000,
  };
  if (config.oidcClientId && !config.authIssuer) throw new ConfigError('OIDC_CLIENT_ID', 'needs AUTH_ISSUER (the OpenID Connect issuer URL)');
  if (production && config.guestLogin && env.GUEST_LOGIN === undefined) config.guestLogin = false;
  return config;
}

function readRedisTarget(env: Env, read: EnvReader): RedisTarget | undefined {
  const given = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'].filter((name) => env[name]);
  if (given.length > 1) throw new ConfigError(given[1]!, `cannot be set together with ${given[0]}: choose one Redis mode`);
  const common = {
    username: env.REDIS_USERNAME || undefined,
    password: env.REDIS_PASSWORD || undefined,
    tls: read.bool('REDIS_TLS', false),
  };
  if (env.REDIS_URL) {
    const url = env.REDIS_URL;
    if (!/^rediss?:\/\//.test(url)) throw new ConfigError('REDIS_URL', `must start with redis:// or rediss:// (got "${url}")`);
    return { mode: 'single', url, ...common };
  }
  if (env.REDIS_SENTINELS) {
    const name = env.REDIS_SENTINEL_NAME;
    if (!name) throw new ConfigError('REDIS_SENTINEL_NAME', 'is required with REDIS_SENTINELS (the monitored master, e.g. mymaster)');
    return { mode: 'sentinel', sentinels: hostPorts('REDIS_SENTINELS', env.REDIS_SENTINELS), name, ...common };
  }
  if (env.REDIS_CLUSTER_NODES) return { mode: 'cluster', nodes: hostPorts('REDIS_CLUSTER_NODES', env.REDIS_CLUSTER_NODES), ...common };
  if (env.REDIS_SENTINEL_NAME) throw new ConfigError('REDIS_SENTINEL_NAME', 'needs REDIS_SENTINELS');
  return undefined;
}

/** `host:port,host:port` (IPv6 in brackets: `[::1]:26379`). */
function hostPorts(name: string, raw: string): HostPort[] {
  return raw.split(',').map((item) => {
    const match = /^\s*(\[[0-9a-fA-F:.]+\]|[^\s:\[\]]+):(\d{1,5})\s*$/.exec(item);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) throw new ConfigError(name, `must be host:port,host:port... (got "${item.trim()}")`);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

class EnvReader {
  constructor(private readonly env: Env) {}

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.number(name, fallback, min, max);
    if (!Number.isInteger(value)) throw new ConfigError(name, `must be a whole number (got "${this.env[name]}")`);
    return value;
  }

  number(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new ConfigError(name, `must be a number (got "${raw}")`);
    if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${value})`);
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    throw new ConfigError(name, `must be true or false (got "${raw}")`);
  }

  url(name: string, protocols: string[]): string | undefined {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(name, `must be a URL (got "${raw}")`);
    }
    if (!protocols.includes(url.protocol)) throw new ConfigError(name, `must be an ${protocols.join(' or ')} URL (got "${raw}")`);
    return raw;
  }

  /** A comma-separated list of origins (scheme://host[:port], no path). */
  origins(name: string): string[] | undefined {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    return raw.split(',').map((item) => {
      const origin = item.trim();
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        throw new ConfigError(name, `has "${origin}", which is not an origin like https://chat.example.com`);
      }
      if (url.origin !== origin) throw new ConfigError(name, `has "${origin}": write it as its origin, ${url.origin}`);
      return origin;
    });
  }

  /** `true`, `false`, or a comma-separated list of addresses, CIDRs and proxy-addr keywords (loopback, linklocal, uniquelocal). */
  trustProxy(name: string, fallback: string[]): boolean | string[] {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    const items = raw.split(',').map((item) => item.trim());
    for (const item of items) {
      if (!/^(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)$/.test(item)) {
        throw new ConfigError(name, `has "${item}": use true, false, or addresses/CIDRs/loopback/linklocal/uniquelocal`);
      }
    }
    return items;
  }

  oneOf(name: string, fallback: string, allowed: string[]): string {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!allowed.includes(raw)) throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${raw}")`);
    return raw;
  }
}
