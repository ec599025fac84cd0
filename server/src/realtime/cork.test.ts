import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Corker } from './cork.js';

class FakeSocket {
  writableCorked = 0;
  corks = 0;
  cork(): void {
    this.writableCorked++;
    this.corks++;
  }
  uncork(): void {
    this.writableCorked--;
  }
  asSocket(): Socket {
    return this as unknown as Socket;
  }
}

describe('Corker', () => {
  it('corks a socket once per tick and uncorks every corked socket on the next tick', async () => {
    const corker = new Corker();
    const a = new FakeSocket();
    const b = new FakeSocket();
    for (let i = 0; i < 5; i++) corker.cork(a.asSocket());
    corker.cork(b.asSocket());
    expect(a.corks).toBe(1);
    expect(a.writableCorked).toBe(1);
    expect(b.writableCorked).toBe(1);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(a.writableCorked).toBe(0);
    expect(b.writableCorked).toBe(0);
    // The next tick corks again.
    corker.cork(a.asSocket());
    expect(a.corks).toBe(2);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(a.writableCorked).toBe(0);
  });
});
