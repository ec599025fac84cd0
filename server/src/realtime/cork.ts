import type { Writable } from 'node:stream';

const kTick = Symbol('roomcast.lastWriteTick');
type MarkedSocket = Writable & { [kTick]?: number };

/**
 * Coalesces the writes to a socket within one tick. The first write of a
 * tick goes straight out (corking a lone frame only costs time); a second
 * one corks the socket, and one nextTick uncorks every corked socket. A
 * burst of messages then costs each socket one writev instead of one write
 * per frame, and nginx and the kernel see fewer, larger writes.
 */
export class Corker {
  private tick = 0;
  private corked: Writable[] = [];
  private scheduled = false;

  /** Call before each write to the socket. */
  beforeWrite(socket: Writable): void {
    const marked = socket as MarkedSocket;
    if (marked[kTick] !== this.tick) {
      marked[kTick] = this.tick;
      this.schedule();
      return;
    }
    if (socket.writableCorked === 0) {
      socket.cork();
      this.corked.push(socket);
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.flush);
  }

  private readonly flush = (): void => {
    const sockets = this.corked;
    this.corked = [];
    this.scheduled = false;
    this.tick++;
    for (const socket of sockets) socket.uncork();
  };
}
