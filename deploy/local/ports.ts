/** Loopback ports: pick a free one, check one, wait until one accepts. */
import net from 'node:net';
import { waitUntil, type WaitOptions } from './wait.js';

/**
 * A port that was free a moment ago: bind 127.0.0.1:0, read the port the
 * kernel chose, close. Another process could take it before we use it; in
 * practice the kernel hands out ports in rotation, so that is rare.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}

/** True when 127.0.0.1:port can be bound right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function acceptsConnections(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Resolves once 127.0.0.1:port accepts TCP connections. */
export function waitForPort(port: number, opts: Omit<WaitOptions, 'what'> & { what?: string }): Promise<void> {
  return waitUntil(() => acceptsConnections(port), { what: `127.0.0.1:${port} to accept connections`, ...opts });
}
