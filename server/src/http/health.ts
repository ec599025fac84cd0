import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker/broker.js';
import type { Metrics } from '../metrics.js';

/** How long /readyz waits for Redis to answer a PING on each connection. */
const READY_PING_TIMEOUT_MS = 1000;

/** Operations endpoints: unauthenticated, not for the public internet (nginx does not route them). */
export async function healthRoutes(app: FastifyInstance, opts: { broker: Broker; metrics: Metrics; isDraining: () => boolean }) {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    if (opts.isDraining()) return reply.code(503).send({ error: { code: 'unavailable', message: 'shutting down' } });
    if (!opts.broker.isReady()) return reply.code(503).send({ error: { code: 'unavailable', message: 'broker unreachable' } });
    // A hung Redis (paused, failing over) keeps its connections open: only a timed round trip tells.
    try {
      await opts.broker.health(READY_PING_TIMEOUT_MS);
    } catch (err) {
      return reply.code(503).send({ error: { code: 'unavailable', message: `broker did not answer: ${(err as Error).message}` } });
    }
    return { status: 'ready' };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
}
