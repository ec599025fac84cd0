/**
 * A minimal Redis client for one command at a time over a fresh socket. The
 * launcher needs PING to know redis is up, and tests need SET/GET; that is not
 * worth a client library.
 */
import net from 'node:net';

export type RespValue = string | number | null | RespValue[];

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

/**
 * Parses one reply from the start of `buf`. Returns undefined while the reply
 * is incomplete. Error replies come back as Error values.
 */
export function parseReply(buf: Buffer, start = 0): { value: RespValue | Error; end: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', start);
  if (lineEnd < 0) return undefined;
  const kind = String.fromCharCode(buf[start] ?? 0);
  const line = buf.toString('utf8', start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (kind) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new Error(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return undefined;
      return { value: buf.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, at);
        if (!item) return undefined;
        if (item.value instanceof Error) return item;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(kind)}`);
  }
}

export interface CommandOptions {
  /** Sent as `AUTH password` first, on the same connection (a Redis with requirepass). */
  password?: string;
  /** Default 127.0.0.1. */
  host?: string;
}

/** Sends one command to redis on 127.0.0.1:port (after AUTH, with a password); rejects on an error reply. */
export function redisCommand(
  port: number,
  args: readonly string[],
  timeoutMs = 2000,
  opts: CommandOptions = {},
): Promise<RespValue> {
  const commands = opts.password === undefined ? [args] : [['AUTH', opts.password], args];
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: opts.host ?? '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let replies = 0;
    const finish = (error: Error | undefined, value?: RespValue): void => {
      socket.destroy();
      if (error) reject(error);
      else resolve(value ?? null);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`redis on port ${port} did not answer within ${timeoutMs} ms`)));
    socket.once('error', (error) => finish(error));
    socket.once('connect', () => socket.write(commands.map(encodeCommand).join('')));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        for (;;) {
          const reply = parseReply(buf);
          if (!reply) return;
          buf = buf.subarray(reply.end);
          replies++;
          if (reply.value instanceof Error) return finish(reply.value);
          if (replies === commands.length) return finish(undefined, reply.value);
        }
      } catch (error) {
        finish(error as Error);
      }
    });
  });
}
