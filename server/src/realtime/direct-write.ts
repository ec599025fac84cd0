import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';

interface HandleWithFd {
  fd?: number;
}

/**
 * Writes a broadcast frame to a TCP socket, straight to its file descriptor
 * when nothing is queued in front of it.
 *
 * Why: a broadcast writes the same small frame to every member, and most of
 * what `socket.write` costs besides the syscall is the stream machinery
 * around it (write requests, callbacks, state). When the socket's queue is
 * empty and it is not corked, one `write(2)` on the non-blocking descriptor
 * does the same job. Whatever the kernel does not take (a full send buffer,
 * a partial write) goes through `socket.write` after it, so the order of
 * bytes is kept and the stream's `writableLength` (what `bufferedAmount`
 * and slow-consumer shedding read) still counts every byte left to send.
 * Errors (a reset peer) are left to the stream to report the usual way.
 *
 * Sockets without a descriptor (TLS, other platforms) always use `socket.write`.
 */
export function writeFrame(socket: Socket, frame: Buffer): void {
  const fd = (socket as unknown as { _handle?: HandleWithFd | null })._handle?.fd;
  if (fd === undefined || fd < 0 || socket.writableLength > 0 || socket.writableCorked > 0) {
    socket.write(frame);
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
  if (written < frame.length) socket.write(written === 0 ? frame : frame.subarray(written));
}
