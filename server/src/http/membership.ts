import type { FastifyInstance } from 'fastify';
import { badRequest } from '../errors.js';
import { MAX_USER_ID_LENGTH, isRoomName, isUserId, type MembersList, type Role, type RoomResponse, type RoomsList } from '../protocol.js';
import { identityOf } from './api.js';
import type { RoomRouteDeps } from './rooms.js';

interface MemberParams {
  room: string;
  id: string;
}

const USER_ID_RULE = `a user id (1-${MAX_USER_ID_LENGTH} characters, no control characters)`;

/** Private rooms, roles and DMs (contract v2, section A). The room service asks the policy. */
export async function membershipRoutes(app: FastifyInstance, { rooms }: RoomRouteDeps) {
  app.post('/api/rooms', async (request, reply): Promise<RoomResponse> => {
    const body = objectBody(request.body);
    if (!isRoomName(body.name)) throw badRequest('name must match ^[a-z0-9][a-z0-9_-]{0,63}$');
    if (body.private !== undefined && typeof body.private !== 'boolean') throw badRequest('private must be true or false');
    const members = body.members ?? [];
    if (!Array.isArray(members) || !members.every(isUserId)) throw badRequest(`members must be an array of ${USER_ID_RULE}`);
    const room = await rooms.create(identityOf(request), body.name, body.private === true, members);
    reply.code(201);
    return { room };
  });

  app.get('/api/rooms', async (request): Promise<RoomsList> => ({ rooms: await rooms.list(identityOf(request)) }));

  app.get<{ Params: { room: string } }>('/api/rooms/:room/members', async (request): Promise<MembersList> => {
    return { members: await rooms.members(identityOf(request), request.params.room) };
  });

  app.put<{ Params: MemberParams }>('/api/rooms/:room/members/:id', async (request) => {
    const role = objectBody(request.body).role;
    if (role !== 'member' && role !== 'admin') throw badRequest('role must be "member" or "admin"');
    return { member: await rooms.setRole(identityOf(request), request.params.room, memberId(request.params.id), role as Role) };
  });

  app.delete<{ Params: MemberParams }>('/api/rooms/:room/members/:id', async (request, reply) => {
    await rooms.remove(identityOf(request), request.params.room, memberId(request.params.id));
    reply.code(204);
  });

  app.post('/api/dm', async (request, reply): Promise<RoomResponse> => {
    const peer = objectBody(request.body).user;
    if (!isUserId(peer)) throw badRequest(`user must be ${USER_ID_RULE}`);
    const { room, created } = await rooms.dm(identityOf(request), peer);
    reply.code(created ? 201 : 200);
    return { room };
  });
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('send a JSON object');
  return body as Record<string, unknown>;
}

function memberId(id: string): string {
  if (!isUserId(id)) throw badRequest(`the member id in the path must be ${USER_ID_RULE}`);
  return id;
}
