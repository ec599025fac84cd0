import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { acceptsConnections } from './ports.js';
import { startRedis, type RedisHandle } from './redis.js';
import { redisCommand } from './resp.js';

describe('startRedis', () => {
  let redis: RedisHandle | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it('runs on a loopback port and keeps its data across restart()', async () => {
    redis = await startRedis();
    expect(redis.port).not.toBe(6379);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await redisCommand(redis.port, ['SET', 'greeting', 'hello'])).toBe('OK');
    await redisCommand(redis.port, ['XADD', 'room:general', '*', 'text', 'first']);

    const firstPid = redis.pid;
    await redis.restart();
    expect(redis.pid).not.toBe(firstPid);

    expect(await redisCommand(redis.port, ['GET', 'greeting'])).toBe('hello');
    expect(await redisCommand(redis.port, ['XLEN', 'room:general'])).toBe(1);
  });

  it('with a password, refuses clients that do not AUTH and puts the password in its url', async () => {
    const locked = await startRedis({ appendonly: false, password: 'p@ss/word' });
    try {
      expect(locked.url).toBe(`redis://:p%40ss%2Fword@127.0.0.1:${locked.port}`);
      await expect(redisCommand(locked.port, ['PING'])).rejects.toThrow(/^NOAUTH/);
      await expect(redisCommand(locked.port, ['PING'], 2000, { password: 'wrong' })).rejects.toThrow(/WRONGPASS/);
      expect(await redisCommand(locked.port, ['PING'], 2000, { password: 'p@ss/word' })).toBe('PONG');
    } finally {
      await locked.stop();
    }
  });

  it('stop() frees the port and removes a data dir it made; stopping twice is harmless', async () => {
    const stopped = await startRedis({ appendonly: false });
    expect(existsSync(stopped.dataDir)).toBe(true);
    await stopped.stop();
    await stopped.stop();
    expect(await acceptsConnections(stopped.port)).toBe(false);
    expect(existsSync(stopped.dataDir)).toBe(false);
  });
});
