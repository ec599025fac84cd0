/**
 * The stall proxy in front of a real redis-server: while stalled nothing
 * passes and nothing closes; on resume the held commands arrive, in order,
 * on the same connections.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisHandle } from './redis.js';
import { encodeCommand, parseReply, redisCommand, type RespValue } from './resp.js';
import { startStallProxy, type StallProxy } from './stall-proxy.js';

/** A connection that keeps its socket: send commands, collect replies as they come. */
class RawClient {
  readonly replies: Array<RespValue | Error> = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      for (let reply = parseReply(this.buf); reply; reply = parseReply(this.buf)) {
        this.buf = this.buf.subarray(reply.end);
        this.replies.push(reply.value);
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  send(...args: string[]): void {
    this.socket.write(encodeCommand(args));
  }

  /** Resolves once `count` replies arrived in all (or rejects if the socket closes first). */
  async until(count: number): Promise<Array<RespValue | Error>> {
    while (this.replies.length < count) {
      if (this.closed) throw new Error(`closed after ${this.replies.length} replies`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.replies.slice(0, count);
  }

  /** True if a reply or close comes within `ms`: only for asserting that nothing comes. */
  async anythingWithin(ms: number): Promise<boolean> {
    const before = this.replies.length;
    if (this.closed) return true;
    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<boolean>((resolve) => this.waiters.push(() => resolve(true)));
    const quiet = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const result = await Promise.race([arrived, quiet]);
    clearTimeout(timer);
    return result || this.replies.length > before || this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('startStallProxy', () => {
  let redis: RedisHandle;
  let proxy: StallProxy;
  const clients: RawClient[] = [];

  beforeAll(async () => {
    redis = await startRedis({ appendonly: false });
    proxy = await startStallProxy(redis.port);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await proxy?.close();
    await redis?.stop();
  });

  const commandsProcessed = async (): Promise<number> => {
    const info = String(await redisCommand(redis.port, ['INFO', 'stats']));
    return Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
  };

  it('forwards both ways while not stalled', async () => {
    expect(proxy.port).not.toBe(redis.port);
    expect(await redisCommand(proxy.port, ['SET', 'via', 'proxy'])).toBe('OK');
    expect(await redisCommand(redis.port, ['GET', 'via'])).toBe('proxy');
  });

  it('while stalled, a PING gets no answer and reaches no server, and the socket stays open; resume() delivers it and the replies in order', async () => {
    const client = await RawClient.connect(proxy.port);
    clients.push(client);
    client.send('PING');
    expect(await client.until(1)).toEqual(['PONG']);
    expect(proxy.connections).toBe(1);

    proxy.stall();
    expect(proxy.stalled).toBe(true);
    const processedBefore = await commandsProcessed();
    client.send('PING', 'held');
    client.send('INCR', 'counter');
    // The one fixed wait in this file: asserting that nothing arrives needs a
    // window. A proxy that forwarded would answer within a millisecond.
    expect(await client.anythingWithin(500)).toBe(false);
    expect(client.closed).toBe(false);
    // Only our own INFO (before and now) reached redis: the held PING and INCR did not.
    expect((await commandsProcessed()) - processedBefore).toBe(1);
    expect(await redisCommand(redis.port, ['GET', 'counter'])).toBeNull();

    proxy.resume();
    expect(await client.until(3)).toEqual(['PONG', 'held', 1]);
    expect(proxy.connections).toBe(1);
  });

  it('holds connections opened while stalled until resume()', async () => {
    proxy.stall();
    const late = await RawClient.connect(proxy.port);
    clients.push(late);
    late.send('GET', 'via');
    expect(await late.anythingWithin(300)).toBe(false);
    proxy.resume();
    expect(await late.until(1)).toEqual(['proxy']);
  });

  it('passes a server-side close on, and close() ends every connection', async () => {
    const client = await RawClient.connect(proxy.port);
    clients.push(client);
    client.send('QUIT');
    expect(await client.until(1)).toEqual(['OK']);
    await expect(client.until(2)).rejects.toThrow(/closed/);

    const open = await RawClient.connect(proxy.port);
    clients.push(open);
    open.send('PING');
    await open.until(1);
    await proxy.close();
    await expect(open.until(2)).rejects.toThrow(/closed/);
    await expect(redisCommand(proxy.port, ['PING'], 500)).rejects.toThrow(/ECONNREFUSED/);
  });
});
