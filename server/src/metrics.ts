import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Everything a replica exports on /metrics. One registry per app, so tests can build many. */
export function createMetrics() {
  const registry = new Registry();
  // Includes nodejs_eventloop_lag_seconds and process memory/CPU.
  collectDefaultMetrics({ register: registry });
  const metrics = {
    registry,
    connections: new Gauge({ name: 'roomcast_connections', help: 'Open WebSocket connections', registers: [registry] }),
    rooms: new Gauge({ name: 'roomcast_rooms', help: 'Rooms with local members (one broker subscription each)', registers: [registry] }),
    framesIn: new Counter({ name: 'roomcast_frames_in_total', help: 'Client frames received, by type', labelNames: ['type'], registers: [registry] }),
    framesOut: new Counter({ name: 'roomcast_frames_out_total', help: 'Frames written to sockets', registers: [registry] }),
    broadcasts: new Counter({ name: 'roomcast_broadcasts_total', help: 'Broker deliveries fanned out to local sockets', registers: [registry] }),
    published: new Counter({ name: 'roomcast_messages_published_total', help: 'Chat messages stored by this replica', registers: [registry] }),
    errors: new Counter({ name: 'roomcast_errors_total', help: 'Error frames sent, by code', labelNames: ['code'], registers: [registry] }),
    brokerErrors: new Counter({ name: 'roomcast_broker_errors_total', help: 'Failed broker (Redis) operations', registers: [registry] }),
    slowConsumers: new Counter({ name: 'roomcast_slow_consumers_total', help: 'Sockets closed with 1013 for falling behind', registers: [registry] }),
    upgradesRefused: new Counter({ name: 'roomcast_upgrades_refused_total', help: 'WebSocket upgrades refused, by status', labelNames: ['status'], registers: [registry] }),
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
