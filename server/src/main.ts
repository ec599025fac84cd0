/**
 * Boots one replica: reads the configuration, builds the app, listens, and
 * drains on SIGTERM/SIGINT. Everything else lives in app.ts.
 */
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { RedisBroker } from './broker/redis.js';

const REDIS_BOOT_TIMEOUT_MS = 30_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }

  const app = buildApp(config);
  const log = app.http.log;
  if (config.devSecret) {
    log.warn('CHAT_JWT_SECRET is not set: using the DEVELOPMENT secret. Anyone can forge tokens. Never run like this in production.');
  }
  if (app.backends.broker instanceof RedisBroker) {
    // A replica that cannot reach Redis would answer every send with an error: wait for it, then give up loudly.
    log.info('connecting to Redis');
    await app.backends.broker.ready(REDIS_BOOT_TIMEOUT_MS).catch((err: Error) => {
      console.error(`Could not reach Redis (${config.redis?.mode}): ${err.message}`);
      process.exit(1);
    });
  }

  const port = await app.listen();
  log.info(
    { port, host: config.host, node: config.nodeId, broker: config.redis?.mode ?? 'memory' },
    `Roomcast listening on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining: closing sockets with 1012');
    const force = setTimeout(() => process.exit(1), config.shutdownGraceMs + 5000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
