import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearerToken, type Auth, type Identity } from '../auth.js';
import { ChatError, badRequest } from '../errors.js';
import { ErrorCode, isRoomName, type AuthConfigResponse } from '../protocol.js';
import type { Access, Action, RoomPolicy } from '../rooms/policy.js';
import { loginRoutes } from './login.js';
import { membershipRoutes } from './membership.js';
import { ORIGIN_REFUSED, originAllowed } from './origin.js';
import { takeOrRefuse, type RateLimiter } from './rate-limit.js';
import { roomRoutes, type RoomRouteDeps } from './rooms.js';

declare module 'fastify' {
  interface FastifyRequest {
    identity?: Identity;
    /** Set for routes declaring `config.access`: the policy's decision for `:room`. */
    access?: Access;
  }
  interface FastifyContextConfig {
    /** What the route does in its `:room`; the policy is asked before the handler runs. */
    access?: Action;
  }
}

export interface ApiDeps extends RoomRouteDeps {
  auth: Auth;
  policy: RoomPolicy;
  /** HTTP writes, per user. */
  writes: RateLimiter;
  /** The guest login, per client address; absent when the guest login is off. */
  logins?: RateLimiter;
  allowedOrigins?: readonly string[];
  authConfig: AuthConfigResponse;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Everything under /api, in the order each request meets it:
 * origin → (login: its limit) → token → write limit → room name → policy → handler.
 */
export async function apiRoutes(app: FastifyInstance, deps: ApiDeps) {
  app.addHook('onRequest', async (request) => {
    if (!originAllowed(request.headers.origin, request.headers.host, deps.allowedOrigins)) {
      throw new ChatError(ErrorCode.forbidden, ORIGIN_REFUSED);
    }
  });

  app.get('/api/auth/config', async (): Promise<AuthConfigResponse> => deps.authConfig);
  if (deps.logins) app.register(loginRoutes, { auth: deps.auth, limiter: deps.logins });

  app.register(async (authed) => {
    authed.addHook('preHandler', async (request: FastifyRequest<{ Params: { room?: string } }>) => {
      const identity = await deps.auth.verify(bearerToken(request.headers.authorization));
      request.identity = identity;
      if (WRITES.has(request.method)) await takeOrRefuse(deps.writes, identity.user.id, 'too many writes: slow down');
      const room = request.params.room;
      if (room !== undefined && !isRoomName(room)) throw badRequest('room must match ^[a-z0-9][a-z0-9_-]{0,63}$');
      const action = request.routeOptions.config.access;
      if (action && room !== undefined) request.access = await deps.policy.authorize(identity, room, action);
    });
    authed.register(roomRoutes, deps);
    authed.register(membershipRoutes, deps);
  });
}

/** The verified identity of an authenticated route's request. */
export function identityOf(request: FastifyRequest): Identity {
  if (!request.identity) throw new ChatError(ErrorCode.unauthorized, 'not authenticated');
  return request.identity;
}
