import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker/broker.js';
import { ChatError, badRequest } from '../errors.js';
import type { ChatNode } from '../node.js';
import type { PresenceManager } from '../presence/presence.js';
import { ErrorCode, LIMITS, isMessageId, validateText } from '../protocol.js';
import { OutcomeUnknown } from '../publisher.js';
import type { Rooms } from '../rooms/service.js';
import { identityOf } from './api.js';

export interface RoomRouteDeps {
  broker: Broker;
  presence: PresenceManager;
  node: ChatNode;
  rooms: Rooms;
}

/** How long an HTTP publish waits for an unknown outcome to resolve. */
const UNKNOWN_OUTCOME_PATIENCE_MS = 10_000;

interface RoomParams {
  room: string;
}

/** A room's history, publishing from backends, presence. The policy decides first (config.access). */
export async function roomRoutes(app: FastifyInstance, opts: RoomRouteDeps) {
  app.get<{ Params: RoomParams; Querystring: { before?: string; limit?: string } }>(
    '/api/rooms/:room/messages',
    { config: { access: 'read' } },
    async (request, reply) => {
      const { before, limit } = request.query;
      if (before !== undefined && (!isMessageId(before) || before === '0-0')) {
        throw badRequest('before must be a message id (<ms>-<seq>, 64-bit parts) above 0-0');
      }
      const page = await opts.broker.history(request.params.room, { before, limit: clampLimit(limit) }).catch(unavailable);
      // The frames are already JSON: join them instead of parsing and re-serializing.
      reply.type('application/json');
      return `{"messages":[${page.messages.map((m) => m.frame).join(',')}]}`;
    },
  );

  app.post<{ Params: RoomParams }>('/api/rooms/:room/messages', { config: { access: 'post' } }, async (request, reply) => {
    const checked = validateText((request.body as { text?: unknown } | undefined)?.text);
    if (!checked.ok) throw new ChatError(checked.code, checked.message);
    // While the store's answer is unknown, retry (idempotently) for a while, then say so: never a false "not stored".
    const deadline = Date.now() + UNKNOWN_OUTCOME_PATIENCE_MS;
    const stored = await opts.node
      .publish(request.params.room, identityOf(request).user, checked.text, () => !request.raw.destroyed && Date.now() < deadline)
      .catch((err: unknown) => {
        if (err instanceof OutcomeUnknown) throw new ChatError(ErrorCode.unavailable, err.message);
        throw err;
      });
    reply.code(201).type('application/json');
    return stored.frame;
  });

  app.get<{ Params: RoomParams }>('/api/rooms/:room/presence', { config: { access: 'read' } }, async (request) => {
    return { users: await opts.presence.list(request.params.room).catch(unavailable) };
  });
}

function clampLimit(raw: string | undefined): number {
  if (raw === undefined || raw === '') return LIMITS.defaultPageSize;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw badRequest('limit must be a whole number');
  return Math.min(LIMITS.maxPageSize, Math.max(1, n));
}

export function unavailable(): never {
  throw new ChatError(ErrorCode.unavailable, 'the broker is unreachable');
}
