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

const nextTick = () => new Promise((resolve) => process.nextTick(resolve));

describe('Corker', () => {
  it('lets the first write of a tick through uncorked', () => {
    const corker = new Corker();
    const a = new FakeSocket();
    corker.beforeWrite(a.asSocket());
    expect(a.corks).toBe(0);
  });

  it('corks a socket on its second write of a tick, once, and uncorks it on the next tick', async () => {
    const corker = new Corker();
    const a = new FakeSocket();
    const b = new FakeSocket();
    for (let i = 0; i < 5; i++) corker.beforeWrite(a.asSocket());
    corker.beforeWrite(b.asSocket());
    expect(a.corks).toBe(1);
    expect(a.writableCorked).toBe(1);
    expect(b.writableCorked).toBe(0);
    await nextTick();
    expect(a.writableCorked).toBe(0);
    // A new tick starts afresh: the first write is not corked again.
    corker.beforeWrite(a.asSocket());
    expect(a.corks).toBe(1);
    corker.beforeWrite(a.asSocket());
    expect(a.corks).toBe(2);
    await nextTick();
    expect(a.writableCorked).toBe(0);
  });
});
