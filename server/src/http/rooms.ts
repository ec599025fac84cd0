import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearerToken, type Auth } from '../auth.js';
import type { Broker } from '../broker/broker.js';
import { ChatError, badRequest } from '../errors.js';
import type { ChatNode } from '../node.js';
import type { PresenceManager } from '../presence/presence.js';
import { ErrorCode, LIMITS, codePointLength, isMessageId, isRoomName, normalizeText, type User } from '../protocol.js';

declare module 'fastify' {
  interface FastifyRequest {
    user?: User;
  }
}

interface RoomParams {
  room: string;
}

/** The authenticated room API: history pages, publishing from backends, presence. */
export async function roomRoutes(
  app: FastifyInstance,
  opts: { auth: Auth; broker: Broker; presence: PresenceManager; node: ChatNode },
) {
  app.addHook('preHandler', async (request: FastifyRequest<{ Params: RoomParams }>) => {
    request.user = (await opts.auth.verify(bearerToken(request.headers.authorization))).user;
    if (!isRoomName(request.params.room)) throw badRequest('room must match ^[a-z0-9][a-z0-9_-]{0,63}$');
  });

  app.get<{ Params: RoomParams; Querystring: { before?: string; limit?: string } }>('/api/rooms/:room/messages', async (request, reply) => {
    const { before, limit } = request.query;
    if (before !== undefined && !isMessageId(before)) throw badRequest('before must be a message id (<ms>-<seq>)');
    const page = await opts.broker
      .history(request.params.room, { before, limit: clampLimit(limit) })
      .catch(unavailable);
    // The frames are already JSON: join them instead of parsing and re-serializing.
    reply.type('application/json');
    return `{"messages":[${page.messages.map((m) => m.frame).join(',')}]}`;
  });

  app.post<{ Params: RoomParams }>('/api/rooms/:room/messages', async (request, reply) => {
    const text = (request.body as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string') throw badRequest('text must be a string');
    const trimmed = normalizeText(text);
    if (trimmed === '') throw badRequest('text is blank');
    if (codePointLength(trimmed) > LIMITS.maxTextCodePoints) {
      throw new ChatError(ErrorCode.tooLarge, `text is longer than ${LIMITS.maxTextCodePoints} characters`);
    }
    const stored = await opts.node.publish(request.params.room, request.user!, trimmed);
    reply.code(201).type('application/json');
    return stored.frame;
  });

  app.get<{ Params: RoomParams }>('/api/rooms/:room/presence', async (request) => {
    return { users: await opts.presence.list(request.params.room).catch(unavailable) };
  });
}

function clampLimit(raw: string | undefined): number {
  if (raw === undefined || raw === '') return LIMITS.defaultPageSize;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw badRequest('limit must be a whole number');
  return Math.min(LIMITS.maxPageSize, Math.max(1, n));
}

function unavailable(): never {
  throw new ChatError(ErrorCode.unavailable, 'the broker is unreachable');
}
