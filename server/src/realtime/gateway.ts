import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Auth, Identity } from '../auth.js';
import { ChatError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { ChatNode } from '../node.js';
import { ORIGIN_REFUSED, originAllowed } from '../http/origin.js';
import {
  CloseCode,
  ErrorCode,
  LIMITS,
  PROTOCOL_VERSION,
  WS_SUBPROTOCOL,
  WS_TOKEN_PROTOCOL_PREFIX,
  type ClientFrame,
} from '../protocol.js';
import { Connection, type ConnectionLimits } from './connection.js';
import { Corker } from './cork.js';
import { parseClientFrame } from './frames.js';
import type { Hub } from './hub.js';

export interface GatewayOptions {
  nodeId: string;
  /** See http/origin.ts; undefined: same origin only. */
  allowedOrigins?: readonly string[];
  pingIntervalMs: number;
  limits: ConnectionLimits;
}

/** Expired tokens are looked for this often: the contract allows 5 s. */
const EXPIRY_CHECK_MS = 1000;

/**
 * The WebSocket endpoint: verifies the token during the upgrade (a refused
 * client never gets a socket), then reads frames, checks them and hands them
 * to the node. Keeps sockets alive with pings (only those without traffic
 * both ways since the last round, see Connection.keepAlive) and closes them
 * when their token expires.
 */
export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly corker = new Corker();
  private readonly pingTimer: NodeJS.Timeout;
  /** One timer for every socket's token expiry, instead of a timer per socket. */
  private readonly expiryTimer: NodeJS.Timeout;
  private draining = false;

  constructor(
    private readonly hub: Hub,
    private readonly node: ChatNode,
    private readonly auth: Auth,
    private readonly metrics: Metrics,
    private readonly log: FastifyBaseLogger,
    private readonly options: GatewayOptions,
  ) {
    // maxPayload closes an oversized frame's socket with 1009, as the contract says.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: LIMITS.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // Select `roomcast`, never the protocol that carries the token.
      handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
    });
    this.pingTimer = setInterval(() => this.pingAll(), options.pingIntervalMs);
    this.pingTimer.unref();
    this.expiryTimer = setInterval(() => this.closeExpired(), EXPIRY_CHECK_MS);
    this.expiryTimer.unref();
  }

  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(request, socket, head).catch((err) => {
        this.log.error({ err }, 'upgrade failed');
        refuse(socket, 500, ErrorCode.internal, 'internal error');
      });
    });
  }

  /** Stops accepting sockets and closes every open one with 1012 (reconnect elsewhere). */
  drain(): void {
    this.draining = true;
    clearInterval(this.pingTimer);
    clearInterval(this.expiryTimer);
    for (const connection of this.hub.connections.values()) {
      connection.close(CloseCode.serviceRestart, 'server restarting: reconnect');
    }
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws') return this.refuse(socket, 404, ErrorCode.notFound, `no WebSocket endpoint at ${url.pathname}`);
    if (this.draining) return this.refuse(socket, 503, ErrorCode.unavailable, 'server is shutting down');
    if (!originAllowed(request.headers.origin, request.headers.host, this.options.allowedOrigins)) {
      return this.refuse(socket, 403, ErrorCode.forbidden, ORIGIN_REFUSED);
    }
    const offered = upgradeToken(request, url);
    if ('error' in offered) return this.refuse(socket, 400, ErrorCode.badRequest, offered.error);
    let identity: Identity;
    try {
      identity = await this.auth.verify(offered.token);
    } catch (err) {
      const message = err instanceof ChatError ? err.message : 'invalid token';
      return this.refuse(socket, 401, ErrorCode.unauthorized, message);
    }
    if (socket.destroyed) return;
    this.wss.handleUpgrade(request, socket, head, (ws) => this.open(ws, identity, socket));
  }

  private refuse(socket: Duplex, status: number, code: ErrorCode, message: string): void {
    this.metrics.upgradesRefused.inc({ status: String(status) });
    refuse(socket, status, code, message);
  }

  private open(ws: WebSocket, identity: Identity, raw: Duplex): void {
    const connection = new Connection(randomUUID(), identity, ws, this.corker, this.options.limits, () => this.metrics.slowConsumers.inc(), raw);
    this.node.connect(connection);
    this.metrics.connections.inc();

    ws.on('message', (data: RawData, isBinary: boolean) => {
      connection.heard = true;
      this.receive(connection, data as Buffer, isBinary);
    });
    ws.on('pong', () => (connection.heard = true));
    ws.on('ping', () => (connection.heard = true));
    ws.on('error', (err) => this.log.debug({ err, connection: connection.id }, 'socket error'));
    ws.on('close', () => {
      connection.closed = true;
      this.metrics.connections.dec();
      void this.node.disconnect(connection);
    });

    connection.send({ type: 'welcome', user: identity.user, connectionId: connection.id, node: this.options.nodeId, protocol: PROTOCOL_VERSION });
  }

  private closeExpired(): void {
    const now = Date.now();
    for (const connection of this.hub.connections.values()) {
      if (connection.expiresAt <= now) connection.close(CloseCode.policyViolation, 'token expired');
    }
  }

  private receive(connection: Connection, data: Buffer, isBinary: boolean): void {
    const parsed = parseClientFrame(data, isBinary);
    if (!parsed.ok) {
      this.metrics.framesIn.inc({ type: 'invalid' });
      return this.reply(connection, parsed.code, parsed.message, parsed.ref);
    }
    const frame = parsed.frame;
    this.metrics.framesIn.inc({ type: frame.type });
    const bucket = frame.type === 'send' ? connection.messageBucket : frame.type === 'typing' ? connection.typingBucket : connection.frameBucket;
    if (!bucket.take()) return this.reply(connection, ErrorCode.rateLimited, 'too many frames: slow down', frame.ref);
    this.handle(connection, frame).catch((err) => {
      if (err instanceof ChatError) return this.reply(connection, err.code, err.message, frame.ref);
      this.log.error({ err, frame: frame.type }, 'frame handler failed');
      this.reply(connection, ErrorCode.internal, 'internal error', frame.ref);
    });
  }

  private async handle(connection: Connection, frame: ClientFrame): Promise<void> {
    switch (frame.type) {
      case 'join':
        return this.node.join(connection, frame.room, { since: frame.since, epoch: frame.epoch }, frame.ref);
      case 'leave':
        return this.node.leave(connection, frame.room);
      case 'send':
        return this.node.send(connection, frame.room, frame.text, frame.ref);
      case 'typing':
        return this.node.typing(connection, frame.room);
      case 'ping':
        connection.send(frame.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: frame.ref });
    }
  }

  private reply(connection: Connection, code: ErrorCode, message: string, ref?: string): void {
    this.metrics.errors.inc({ code });
    connection.error(code, message, ref);
  }

  private pingAll(): void {
    for (const connection of this.hub.connections.values()) connection.keepAlive();
  }
}

/**
 * The token of an upgrade: from the `roomcast.bearer.<JWT>` subprotocol
 * (offered next to `roomcast`, which the server selects), else from the
 * legacy `?token=` query parameter of v1.
 */
function upgradeToken(request: IncomingMessage, url: URL): { token: string | null } | { error: string } {
  const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const bearer = offered.find((p) => p.startsWith(WS_TOKEN_PROTOCOL_PREFIX));
  if (bearer === undefined) return { token: url.searchParams.get('token') };
  if (!offered.includes(WS_SUBPROTOCOL)) {
    return { error: `offer the "${WS_SUBPROTOCOL}" subprotocol next to the one carrying the token` };
  }
  return { token: bearer.slice(WS_TOKEN_PROTOCOL_PREFIX.length) };
}

/** Answers a refused upgrade with a plain HTTP response carrying the error envelope. */
function refuse(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${httpReason(status)}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function httpReason(status: number): string {
  const reasons: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };
  return reasons[status] ?? 'Error';
}
