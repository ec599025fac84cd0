import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * The socket a connection's broadcast frames, built once for every socket
 * (see framing.ts), are written to as they are; decided once when the
 * connection opens. `raw` is the socket ws runs on (the one the HTTP
 * server's 'upgrade' event handed to `handleUpgrade`).
 *
 * Undefined, so that `ws.send` frames the payload itself, when the socket is
 * unknown or when permessage-deflate was negotiated (ws then decides what to
 * compress and queues behind its compressor). Any other socket takes the
 * frame through its own `write`: a TLS socket encrypts it like everything
 * else ws writes.
 */
export function framedTarget(ws: WebSocket, raw: Duplex | undefined): Duplex | undefined {
  return raw !== undefined && ws.extensions === '' ? raw : undefined;
}

/**
 * Writes a prebuilt frame to `target` (see framedTarget), or sends the
 * payload through ws when there is no target or when ws's sender still holds
 * bytes of an earlier message (a Blob being read, a message being
 * compressed): ws's public `bufferedAmount` is the socket's queue plus those
 * bytes, and a frame written to the socket then would overtake them.
 * Everything goes through the socket's stream, so `bufferedAmount` (what
 * slow-consumer shedding reads) counts every byte not yet sent.
 */
export function writeFrame(ws: WebSocket, target: Duplex | undefined, frame: Buffer, payload: Buffer): void {
  if (target === undefined || ws.bufferedAmount !== target.writableLength) ws.send(payload, { binary: false });
  else target.write(frame);
}
