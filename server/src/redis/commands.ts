/**
 * Types of the Lua scripts registered with `defineCommand`, so they can be
 * called (and pipelined) like built-in commands.
 */
import type { ClientContext, Result } from 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext> {
    roomcastPublish(log: string, trimmed: string, ...args: (string | number)[]): Result<string, Context>;
    presenceJoin(pc: string, pu: string, ...args: string[]): Result<string[] | number, Context>;
    presenceRemove(pc: string, pu: string, ...args: string[]): Result<number, Context>;
    presenceBeat(nodes: string, nodeId: string): Result<number, Context>;
    presenceDeadNodes(nodes: string, ttlMs: string): Result<string[], Context>;
  }
}
