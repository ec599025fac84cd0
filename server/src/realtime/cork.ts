import type { Socket } from 'node:net';

/**
 * Coalesces every write to a socket within one tick: the first write of the
 * tick corks the socket, one nextTick uncorks all of them. A fan-out of many
 * messages then costs each socket one writev instead of one write per frame,
 * and nginx and the kernel see fewer, larger writes.
 */
export class Corker {
  private corked: Socket[] = [];
  private scheduled = false;

  cork(socket: Socket): void {
    if (socket.writableCorked > 0) return;
    socket.cork();
    this.corked.push(socket);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  private readonly flush = (): void => {
    const sockets = this.corked;
    this.corked = [];
    this.scheduled = false;
    for (const socket of sockets) socket.uncork();
  };
}
