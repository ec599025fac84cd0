import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import { Auth } from './auth.js';
import type { Broker } from './broker/broker.js';
import { MemoryBroker } from './broker/memory.js';
import { RedisBroker } from './broker/redis.js';
import type { Config } from './config.js';
import { ChatError, HTTP_STATUS } from './errors.js';
import { healthRoutes } from './http/health.js';
import { apiRoutes } from './http/api.js';
import { MemoryRateLimiter, RedisRateLimiter, type Rate, type RateLimiter } from './http/rate-limit.js';
import { createMetrics, type Metrics } from './metrics.js';
import { ChatNode } from './node.js';
import { MemoryPresence } from './presence/memory.js';
import type { PresenceManager } from './presence/presence.js';
import { RedisPresence } from './presence/redis.js';
import { ErrorCode, LIMITS } from './protocol.js';
import { Gateway } from './realtime/gateway.js';
import { Hub } from './realtime/hub.js';
import { MemoryRoomStore } from './rooms/memory.js';
import { RoomPolicy } from './rooms/policy.js';
import { RedisRoomStore } from './rooms/redis.js';
import { Rooms } from './rooms/service.js';
import type { RoomStore } from './rooms/store.js';

export interface Backends {
  broker: Broker;
  presence: PresenceManager;
  rooms: RoomStore;
  /** A limiter of one kind (write, login): in Redis when there is one, so every replica shares it. */
  rateLimiter(kind: string, rate: Rate): RateLimiter;
}

/** Rooms a creator may list as members in one request (more are added with PUT). */
const MAX_INITIAL_MEMBERS = 100;

export interface ChatApp {
  http: FastifyInstance;
  gateway: Gateway;
  node: ChatNode;
  hub: Hub;
  metrics: Metrics;
  backends: Backends;
  /** Starts presence, then listens. Resolves with the bound port. */
  listen(): Promise<number>;
  /** Graceful shutdown: stop accepting, close sockets with 1012, remove own presence, release the broker. */
  close(): Promise<void>;
}

/** Memory backends without REDIS_URL, Redis ones with it: chosen once, here. */
export function createBackends(config: Config, onError: (err: unknown, during: string) => void): Backends {
  if (!config.redis) {
    const broker = new MemoryBroker({ historyMaxLen: config.historyMaxLen, idleTtlMs: config.roomIdleTtlMs });
    const presence = new MemoryPresence(broker);
    return {
      broker,
      presence,
      rooms: new MemoryRoomStore(broker, presence, { idleTtlMs: config.roomIdleTtlMs }),
      rateLimiter: (_kind, rate) => new MemoryRateLimiter(rate),
    };
  }
  const broker = new RedisBroker({
    redis: config.redis,
    historyMaxLen: config.historyMaxLen,
    idleTtlMs: config.roomIdleTtlMs,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    connectionName: `roomcast:${config.nodeId}`,
    onError: throttle(30_000, (err) => onError(err, 'redis connection (ioredis retries; repeats muted for 30 s)')),
  });
  const presence = new RedisPresence({
    redis: broker.client,
    keys: broker.keys,
    nodeId: config.nodeId,
    heartbeatMs: config.presenceHeartbeatMs,
    ttlMs: config.presenceTtlMs,
    sweepMs: config.presenceSweepMs,
    onError,
  });
  return {
    broker,
    presence,
    rooms: new RedisRoomStore({ redis: broker.client, keys: broker.keys, idleTtlMs: config.roomIdleTtlMs }),
    rateLimiter: (kind, rate) => new RedisRateLimiter(broker.client, (key) => broker.keys.rateBucket(kind, key), rate),
  };
}

export function buildApp(config: Config, backends?: Backends): ChatApp {
  const http = Fastify({
    logger: { level: config.logLevel, base: { node: config.nodeId } },
    // Room messages are at most 4000 code points; leave room for JSON escaping.
    bodyLimit: LIMITS.maxFrameBytes,
    forceCloseConnections: true,
    // A member id in a path is up to 128 characters, percent-encoded; longer params are refused below.
    maxParamLength: 1200,
    // Errors the router raises before any route (a too long or malformed URL) get the error envelope too.
    frameworkErrors: (error, _request, reply) => {
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : error.message;
      (reply as FastifyReply).code(400).send({ error: { code: ErrorCode.badRequest, message } });
    },
    // request.ip is the client's address as forwarded by proxies we trust (the login limit keys on it).
    trustProxy: config.trustProxy,
    // One log line per request costs more than the request at load-test rates.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const metrics = createMetrics();
  const chosen = backends ?? createBackends(config, (err, during) => http.log.warn({ err, during }, 'background task failed'));
  const { broker, presence } = chosen;
  const policy = new RoomPolicy(chosen.rooms);
  const auth = new Auth(config, { log: http.log });
  const hub = new Hub();
  const node = new ChatNode(hub, broker, presence, policy, chosen.rooms, metrics, http.log, {
    maxRoomsPerConnection: config.maxRoomsPerConnection,
    // Past Redis's own command timeout (and a cluster client's redirections), an attempt counts as unknown.
    publishAttemptTimeoutMs: config.redisCommandTimeoutMs * 2,
  });
  const gateway = new Gateway(hub, node, auth, metrics, http.log, {
    nodeId: config.nodeId,
    allowedOrigins: config.allowedOrigins,
    pingIntervalMs: config.pingIntervalMs,
    limits: {
      maxBufferedBytes: config.maxBufferedBytes,
      messages: { perSecond: config.rateMessagesPerSec, burst: config.rateBurst },
      typing: { perSecond: config.rateTypingPerSec, burst: config.rateTypingBurst },
      frames: { perSecond: config.rateFramesPerSec, burst: config.rateFramesBurst },
    },
  });
  gateway.attach(http.server);
  let draining = false;
  broker.on('down', () => http.log.error('broker unreachable: sends are refused until it returns'));
  broker.on('up', () => http.log.info('broker reachable again'));

  http.setErrorHandler((error: FastifyError | ChatError, request, reply) => {
    const { status, code, message } = describeError(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const retryAfterMs = error instanceof ChatError ? error.details.retryAfterMs : undefined;
    if (retryAfterMs !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    reply.code(status).send({ error: { code, message } });
  });

  http.register(healthRoutes, { broker, metrics, isDraining: () => draining });
  http.register(apiRoutes, {
    auth,
    policy,
    broker,
    presence,
    node,
    rooms: new Rooms(chosen.rooms, policy, broker, { maxRoomsPerUser: config.maxRoomsPerUser, maxInitialMembers: MAX_INITIAL_MEMBERS }),
    writes: chosen.rateLimiter('write', { perSecond: config.rateHttpWritesPerSec, burst: config.rateHttpWritesBurst }),
    logins: config.guestLogin ? chosen.rateLimiter('login', { perSecond: config.rateLoginPerSec, burst: config.rateLoginBurst }) : undefined,
    allowedOrigins: config.allowedOrigins,
    authConfig: {
      guestLogin: config.guestLogin,
      oidc: config.oidcClientId && config.authIssuer ? { issuer: config.authIssuer, clientId: config.oidcClientId, scope: config.oidcScope } : null,
    },
  });
  if (config.webRoot) {
    const root = resolve(config.webRoot);
    if (!existsSync(root)) throw new Error(`WEB_ROOT ${root} does not exist: build the web client first (npm run build)`);
    http.register(fastifyStatic, { root, wildcard: false });
  }
  http.setNotFoundHandler((request, reply) => {
    // With a web client, its client-side routes fall back to the app; API paths keep their JSON 404.
    if (config.webRoot && request.method === 'GET' && !request.url.startsWith('/api/')) return reply.sendFile('index.html');
    reply.code(404).send({ error: { code: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` } });
  });

  let closing: Promise<void> | undefined;
  const app: ChatApp = {
    http,
    gateway,
    node,
    hub,
    metrics,
    backends: chosen,
    async listen() {
      await presence.start();
      await http.listen({ port: config.port, host: config.host });
      const address = http.server.address();
      return typeof address === 'object' && address ? address.port : config.port;
    },
    close() {
      closing ??= (async () => {
        draining = true;
        gateway.drain();
        await waitFor(() => hub.connections.size === 0, config.shutdownGraceMs);
        await presence.close().catch((err) => http.log.warn({ err }, 'presence cleanup failed'));
        await http.close();
        await broker.close();
      })();
      return closing;
    },
  };
  return app;
}

function describeError(error: FastifyError | ChatError): { status: number; code: ErrorCode; message: string } {
  if (error instanceof ChatError) return { status: error.status, code: error.code, message: error.message };
  const status = error.statusCode ?? 500;
  if (status === 413) return { status, code: 'too_large', message: 'request body too large' };
  if (status === 415) return { status: 400, code: 'bad_request', message: 'send JSON (content-type: application/json)' };
  if (status >= 400 && status < 500) return { status: 400, code: 'bad_request', message: error.message };
  return { status: HTTP_STATUS.internal, code: 'internal', message: 'internal error' };
}

function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolvePromise) => {
    const deadline = Date.now() + timeoutMs;
    const check = () => {
      if (condition() || Date.now() >= deadline) return resolvePromise();
      setTimeout(check, 25);
    };
    check();
  });
}

/** Calls `fn` at most once per `ms`: an outage makes ioredis fail every retry, once a second. */
function throttle<T>(ms: number, fn: (arg: T) => void): (arg: T) => void {
  let quietUntil = 0;
  return (arg) => {
    const now = Date.now();
    if (now < quietUntil) return;
    quietUntil = now + ms;
    fn(arg);
  };
}
