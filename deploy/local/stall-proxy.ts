/**
 * A TCP proxy on loopback that can stall: while stalled, no byte passes in
 * either direction and nothing is closed, which is what a network partition
 * looks like to both ends (unlike a killed process, which resets or refuses).
 * For partition tests between a replica and one redis-server.
 *
 * Not for Redis Cluster: cluster clients (ioredis Cluster) learn every node's
 * own address from CLUSTER SLOTS and connect there directly, so they bypass
 * a proxy put in front of the seeds. Sentinel clients likewise connect to
 * the address the Sentinels report. Use it in front of a single redis-server.
 */
import net from 'node:net';

export interface StallProxy {
  /** The proxy's loopback port: point the client here instead of at the target. */
  readonly port: number;
  /** Connections currently open through the proxy. */
  readonly connections: number;
  readonly stalled: boolean;
  /** Stops forwarding both ways; bytes (and half-closes) are held, sockets stay open. New connections are accepted and held too. */
  stall(): void;
  /** Delivers what was held, in order, and forwards again. */
  resume(): void;
  /** Closes the listener and destroys every connection through it. */
  close(): Promise<void>;
}

/** One direction of one connection: forwards `from` to `to`, holding data while stalled. */
class Pipe {
  private readonly held: Array<Buffer | 'end'> = [];
  /** `to` asked us to wait (write() returned false) and has not drained yet. */
  private blocked = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly isStalled: () => boolean,
  ) {
    from.on('data', (chunk: Buffer) => this.push(chunk));
    from.on('end', () => this.push('end'));
    to.on('drain', () => {
      this.blocked = false;
      if (!this.isStalled()) from.resume();
    });
  }

  /** Stops reading: what the peer keeps sending waits in the kernel's buffers. */
  pause(): void {
    this.from.pause();
  }

  /** Forwards what was held, then reads again (unless the other side is full). */
  flush(): void {
    while (this.held.length > 0) this.forward(this.held.shift() as Buffer | 'end');
    if (!this.blocked) this.from.resume();
  }

  private push(item: Buffer | 'end'): void {
    // Data read before pause() took effect, or an end, while stalled: held until resume().
    if (this.isStalled() || this.held.length > 0) this.held.push(item);
    else this.forward(item);
  }

  private forward(item: Buffer | 'end'): void {
    if (this.to.destroyed) return;
    if (item === 'end') {
      this.to.end();
    } else if (!this.to.write(item)) {
      this.blocked = true;
      this.from.pause();
    }
  }
}

interface Connection {
  client: net.Socket;
  upstream: net.Socket;
  pipes: [Pipe, Pipe];
}

export async function startStallProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<StallProxy> {
  let stalled = false;
  const connections = new Set<Connection>();

  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: targetHost, port: targetPort, allowHalfOpen: true });
    upstream.pause();
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const connection: Connection = {
      client,
      upstream,
      pipes: [new Pipe(client, upstream, () => stalled), new Pipe(upstream, client, () => stalled)],
    };
    connections.add(connection);
    // An error or close on one side closes the other: a partition would not
    // pass it on, but holding a dead connection open helps no test.
    const closeBoth = (): void => {
      connections.delete(connection);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', closeBoth);
      socket.on('close', closeBoth);
    }
    if (!stalled) for (const pipe of connection.pipes) pipe.flush();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    get connections() {
      return connections.size;
    },
    get stalled() {
      return stalled;
    },
    stall() {
      stalled = true;
      for (const connection of connections) for (const pipe of connection.pipes) pipe.pause();
    },
    resume() {
      stalled = false;
      for (const connection of connections) for (const pipe of connection.pipes) pipe.flush();
    },
    close() {
      for (const connection of [...connections]) {
        connection.client.destroy();
        connection.upstream.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
