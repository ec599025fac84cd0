/**
 * Types of the Lua scripts registered with `defineCommand`, so they can be
 * called (and pipelined) like built-in commands.
 */
import type { ClientContext, Result } from 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext> {
    roomcastPublish(log: string, trimmed: string, ...args: (string | number)[]): Result<[id: string, body: string, duplicate: 0 | 1], Context>;
    roomcastReplay(
      log: string,
      trimmed: string,
      epoch: string,
      ...args: (string | number)[]
    ): Result<[epoch: string, trimmed: string, newest: string, entries: [string, string[]][]], Context>;
    roomcastCheckLog(log: string, trimmed: string, epoch: string, lost: string, ...args: string[]): Result<number, Context>;
    roomCreate(meta: string, members: string, names: string, log: string, users: string, ...args: string[]): Result<number, Context>;
    roomDm(meta: string, members: string, names: string, ...args: string[]): Result<number, Context>;
    roomSetRole(meta: string, members: string, names: string, ...args: string[]): Result<string, Context>;
    roomName(meta: string, members: string, names: string, ...args: string[]): Result<number, Context>;
    roomRemove(meta: string, members: string, names: string, ...args: string[]): Result<number, Context>;
    rateTake(bucket: string, perSecond: string, burst: string): Result<number, Context>;
    presenceJoin(pc: string, pu: string, ...args: string[]): Result<string[] | number, Context>;
    presenceRemove(pc: string, pu: string, ...args: string[]): Result<number, Context>;
    presenceBeat(nodes: string, nodeId: string): Result<number, Context>;
    presenceDeadNodes(nodes: string, ttlMs: string): Result<string[], Context>;
  }
}
