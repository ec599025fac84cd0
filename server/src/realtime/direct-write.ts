import { writeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { WebSocket } from 'ws';

/**
 * How a connection's broadcast frames are written, decided once when it opens:
 *
 * - `direct`: a plain TCP socket without compression. A frame goes out with
 *   one `write(2)` on the descriptor when nothing is queued in front of it,
 *   through the stream otherwise.
 * - `stream`: the frame built once is written with `socket.write`. For any
 *   socket that is not plain TCP (TLS above all: its descriptor carries
 *   ciphertext, and plaintext written there would bypass the TLS layer).
 * - `ws`: `ws.send` of the payload, which frames it again. When
 *   permessage-deflate was negotiated (ws compresses and queues) or when the
 *   raw socket is unknown.
 */
export type WritePath = 'direct' | 'stream' | 'ws';

/**
 * `raw` is the socket `ws` runs on (the one the HTTP server's 'upgrade'
 * event handed to `handleUpgrade`). Read only public state: the socket's
 * class and `encrypted`, and ws's negotiated `extensions`.
 */
export function chooseWritePath(ws: WebSocket, raw: Duplex | undefined): WritePath {
  if (raw === undefined || ws.extensions !== '') return 'ws';
  const plainTcp = raw instanceof Socket && !(raw instanceof TLSSocket) && (raw as { encrypted?: unknown }).encrypted !== true;
  return plainTcp ? 'direct' : 'stream';
}

interface HandleWithFd {
  fd?: number;
}

/**
 * Writes a frame built once for every socket (see framing.ts), by the
 * connection's `path` (see chooseWritePath), keeping the order of everything
 * sent on the socket.
 *
 * Why a direct path at all: a broadcast writes the same small frame to every
 * member, and most of what `socket.write` costs besides the syscall is the
 * stream machinery around it. When nothing is pending, one `write(2)` on the
 * non-blocking descriptor does the same job. "Nothing pending" is ws's public
 * `bufferedAmount` (the socket's queue plus the bytes ws's sender holds)
 * being 0, and the socket not corked (the Corker is coalescing this tick's
 * writes). Whatever the kernel does not take goes through `socket.write`
 * after it, so the order of bytes is kept and `bufferedAmount` (what
 * slow-consumer shedding reads) still counts every byte left to send. Errors
 * (a reset peer) are left to the stream to report the usual way.
 *
 * The descriptor is read at each write, never kept: a destroyed socket drops
 * its handle, and its descriptor number can then belong to another socket.
 */
export function writeFrame(ws: WebSocket, raw: Duplex | undefined, path: WritePath, frame: Buffer, payload: Buffer): void {
  if (path === 'ws' || raw === undefined) {
    ws.send(payload, { binary: false });
    return;
  }
  const buffered = ws.bufferedAmount;
  if (buffered !== raw.writableLength) {
    // ws's sender holds bytes (a message being read or compressed): queue behind them.
    ws.send(payload, { binary: false });
    return;
  }
  if (path !== 'direct' || buffered !== 0 || raw.writableCorked !== 0 || !raw.writable) {
    raw.write(frame);
    return;
  }
  const fd = (raw as unknown as { _handle?: HandleWithFd | null })._handle?.fd;
  if (fd === undefined || fd < 0) {
    raw.write(frame);
    return;
  }
  let written: number;
  try {
    written = writeSync(fd, frame);
  } catch {
    // EAGAIN: the kernel buffer is full, the stream waits for room. EPIPE and
    // friends: the stream's own write fails and closes the socket.
    written = 0;
  }
  if (written < frame.length) raw.write(written === 0 ? frame : frame.subarray(written));
}
