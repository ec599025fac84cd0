import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFrame } from './direct-write.js';

/** A connected pair on loopback: `writer` is ours, `reader` the peer. */
async function socketPair(): Promise<{ server: Server; writer: Socket; reader: Socket }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const writer = connect(port, '127.0.0.1');
  await once(writer, 'connect');
  const [reader] = await accepted;
  return { server, writer, reader };
}

/** Reads from `reader` until `total` bytes have come. */
function readBytes(reader: Socket, total: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    reader.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= total) resolve(Buffer.concat(chunks));
    });
    reader.resume();
  });
}

/** Frame n: 4 bytes of its number, then `size - 4` bytes of filler. */
function frameOf(n: number, size: number): Buffer {
  const frame = Buffer.alloc(size, n % 251);
  frame.writeUInt32BE(n, 0);
  return frame;
}

describe('writeFrame', () => {
  let pair: Awaited<ReturnType<typeof socketPair>>;
  beforeEach(async () => {
    pair = await socketPair();
  });
  afterEach(() => {
    pair.writer.destroy();
    pair.reader.destroy();
    pair.server.close();
  });

  it('delivers frames written while nothing is queued, leaving the stream empty', async () => {
    const frames = [frameOf(1, 40), frameOf(2, 60), frameOf(3, 80)];
    for (const frame of frames) {
      writeFrame(pair.writer, frame);
      expect(pair.writer.writableLength).toBe(0);
    }
    expect(await readBytes(pair.reader, 180)).toEqual(Buffer.concat(frames));
  });

  it('queues what the kernel does not take, so the backlog is counted and the order kept', async () => {
    // The peer does not read: the kernel buffers fill, then the stream holds the rest.
    pair.reader.pause();
    const frames: Buffer[] = [];
    for (let n = 0; pair.writer.writableLength === 0; n++) {
      const frame = frameOf(n, 16 * 1024);
      frames.push(frame);
      writeFrame(pair.writer, frame);
      expect(n).toBeLessThan(10_000);
    }
    const queued = pair.writer.writableLength;
    expect(queued).toBeGreaterThan(0);
    // Once something is queued, later frames queue behind it instead of jumping ahead.
    const last = frameOf(999_999, 100);
    frames.push(last);
    writeFrame(pair.writer, last);
    expect(pair.writer.writableLength).toBe(queued + 100);

    const all = Buffer.concat(frames);
    // Buffer#equals: a deep toEqual of megabytes takes seconds.
    expect((await readBytes(pair.reader, all.length)).equals(all)).toBe(true);
  });

  it('goes through the stream while the socket is corked', async () => {
    pair.writer.cork();
    writeFrame(pair.writer, frameOf(1, 50));
    expect(pair.writer.writableLength).toBe(50);
    pair.writer.uncork();
    expect(await readBytes(pair.reader, 50)).toEqual(frameOf(1, 50));
  });

  it('leaves a reset peer to the stream, which reports it, instead of throwing', async () => {
    const failed = new Promise<Error>((resolve) => pair.writer.once('error', resolve));
    // Our side must not learn of the reset by reading: the write is what meets it.
    pair.writer.pause();
    pair.reader.resetAndDestroy();
    await once(pair.reader, 'close');
    expect(() => writeFrame(pair.writer, frameOf(1, 10))).not.toThrow();
    expect((await failed).message).toMatch(/EPIPE|ECONNRESET/);
  });
});
