import type { FastifyInstance } from 'fastify';
import { Auth } from '../auth.js';
import { badRequest } from '../errors.js';
import { validateName, type LoginResponse } from '../protocol.js';
import { takeOrRefuse, type RateLimiter } from './rate-limit.js';

/** The built-in guest login: a name in, a token out. For development and demos (GUEST_LOGIN). */
export async function loginRoutes(app: FastifyInstance, opts: { auth: Auth; limiter: RateLimiter }) {
  app.post('/api/login', async (request): Promise<LoginResponse> => {
    // Per client address (behind a proxy: the address it forwards, see TRUST_PROXY).
    await takeOrRefuse(opts.limiter, request.ip, 'too many logins from this address: slow down');
    const body = request.body as { name?: unknown } | undefined;
    const result = validateName(body?.name);
    if (!result.ok) throw badRequest(result.message);
    const user = { id: Auth.userIdFor(result.name), name: result.name };
    return { token: await opts.auth.issue(user), user };
  });
}
