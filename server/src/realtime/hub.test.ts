import { describe, expect, it } from 'vitest';
import type { Delivery } from '../broker/broker.js';
import type { Connection, Membership } from './connection.js';
import { Hub } from './hub.js';

/**
 * The part of a Connection the hub touches: id, memberships and the send
 * methods. `sent` holds the payload of each frame, `frames` the whole
 * WebSocket frames written by sendFramed.
 */
class FakeConnection {
  readonly rooms = new Map<string, Membership>();
  readonly sent: Array<Buffer | string> = [];
  readonly frames: Buffer[] = [];
  open = true;

  constructor(
    readonly id: string,
    readonly user = { id: `u_${id}`, name: id },
  ) {}

  sendRaw(data: Buffer | string): boolean {
    if (!this.open) return false;
    this.sent.push(data);
    return true;
  }

  sendFramed(frame: Buffer, payload: Buffer): boolean {
    if (!this.open) return false;
    this.frames.push(frame);
    this.sent.push(payload);
    return true;
  }

  asConnection(): Connection {
    return this as unknown as Connection;
  }
}

function member(hub: Hub, room: string, id: string, pending: Delivery[] | null = null): FakeConnection {
  const fake = new FakeConnection(id);
  fake.rooms.set(room, { pending });
  hub.add(fake.asConnection());
  hub.addMember(room, fake.asConnection());
  return fake;
}

const frame = (text: string) => `{"type":"message","room":"r","id":"1-0","ts":1,"user":{"id":"u","name":"u"},"text":"${text}"}`;

describe('Hub', () => {
  it('indexes connections by user: first and last local connection, addressed sends', () => {
    const hub = new Hub();
    const a1 = new FakeConnection('a1', { id: 'u_a', name: 'a' });
    const a2 = new FakeConnection('a2', { id: 'u_a', name: 'a' });
    const b = new FakeConnection('b1', { id: 'u_b', name: 'b' });
    expect(hub.add(a1.asConnection())).toBe(true);
    expect(hub.add(a2.asConnection())).toBe(false);
    expect(hub.add(b.asConnection())).toBe(true);
    expect(hub.sendToUser('u_a', '{"type":"added"}')).toBe(2);
    expect([a1.sent, a2.sent, b.sent]).toEqual([['{"type":"added"}'], ['{"type":"added"}'], []]);
    expect(hub.remove(a1.asConnection())).toBe(false);
    expect(hub.remove(a1.asConnection())).toBe(false); // twice: no-op
    expect(hub.remove(a2.asConnection())).toBe(true);
    expect(hub.sendToUser('u_a', 'x')).toBe(0);
  });

  it('serializes a delivery once: every member gets the same Buffer instance', () => {
    const hub = new Hub();
    const members = ['a', 'b', 'c', 'd'].map((id) => member(hub, 'r', id));
    const delivery: Delivery = { room: 'r', id: '1-0', frame: frame('hi') };
    expect(hub.broadcast(delivery)).toBe(4);
    const first = members[0]!.sent[0];
    expect(Buffer.isBuffer(first)).toBe(true);
    expect(first!.toString()).toBe(delivery.frame);
    const firstFrame = members[0]!.frames[0];
    for (const fake of members) {
      expect(fake.sent).toHaveLength(1);
      expect(fake.sent[0]).toBe(first); // the same object, not an equal copy
      expect(fake.frames[0]).toBe(firstFrame);
    }
  });

  it('skips the connection named by the delivery', () => {
    const hub = new Hub();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => member(hub, 'r', id));
    expect(hub.broadcast({ room: 'r', frame: '{"type":"typing"}', skip: 'b' })).toBe(2);
    expect(a!.sent).toHaveLength(1);
    expect(b!.sent).toHaveLength(0);
    expect(c!.sent).toHaveLength(1);
  });

  it('only reaches members of the delivery room', () => {
    const hub = new Hub();
    const inRoom = member(hub, 'r', 'a');
    const elsewhere = member(hub, 'other', 'b');
    expect(hub.broadcast({ room: 'r', frame: frame('x') })).toBe(1);
    expect(inRoom.sent).toHaveLength(1);
    expect(elsewhere.sent).toHaveLength(0);
    expect(hub.broadcast({ room: 'nobody-here', frame: frame('y') })).toBe(0);
  });

  it('buffers deliveries for a member whose join is still replaying', () => {
    const hub = new Hub();
    const pending: Delivery[] = [];
    const joining = member(hub, 'r', 'joining', pending);
    const ready = member(hub, 'r', 'ready');
    const first: Delivery = { room: 'r', id: '1-0', frame: frame('one') };
    const second: Delivery = { room: 'r', id: '1-1', frame: frame('two') };
    expect(hub.broadcast(first)).toBe(1);
    expect(hub.broadcast(second)).toBe(1);
    expect(joining.sent).toHaveLength(0);
    expect(pending).toEqual([first, second]);
    expect(ready.sent.map(String)).toEqual([first.frame, second.frame]);
  });

  it('does not count members whose send failed', () => {
    const hub = new Hub();
    member(hub, 'r', 'a');
    const closed = member(hub, 'r', 'b');
    closed.open = false;
    expect(hub.broadcast({ room: 'r', frame: frame('x') })).toBe(1);
  });

  it('tracks first and last local members of a room', () => {
    const hub = new Hub();
    const a = new FakeConnection('a').asConnection();
    const b = new FakeConnection('b').asConnection();
    expect(hub.addMember('r', a)).toBe(true);
    expect(hub.addMember('r', b)).toBe(false);
    expect(hub.hasMembers('r')).toBe(true);
    expect(hub.roomCount).toBe(1);
    expect(hub.removeMember('r', a)).toBe(false);
    expect(hub.removeMember('r', b)).toBe(true);
    expect(hub.hasMembers('r')).toBe(false);
    expect(hub.roomCount).toBe(0);
    expect(hub.removeMember('r', b)).toBe(false);
  });

  it('stops delivering to a removed member', () => {
    const hub = new Hub();
    const a = member(hub, 'r', 'a');
    const b = member(hub, 'r', 'b');
    hub.removeMember('r', b.asConnection());
    expect(hub.broadcast({ room: 'r', frame: frame('x') })).toBe(1);
    expect(a.sent).toHaveLength(1);
    expect(b.sent).toHaveLength(0);
  });
});
