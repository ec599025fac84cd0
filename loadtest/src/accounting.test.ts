import { describe, expect, it } from 'vitest';
import { Bitset, Ledger } from './accounting.js';

describe('Bitset', () => {
  it('adds once, grows past its first size', () => {
    const b = new Bitset();
    expect(b.has(5)).toBe(false);
    expect(b.add(5)).toBe(true);
    expect(b.add(5)).toBe(false);
    expect(b.has(5)).toBe(true);
    expect(b.add(100_000)).toBe(true);
    expect(b.has(100_000)).toBe(true);
    expect(b.has(99_999)).toBe(false);
  });
});

/** A room with `n` members and `sent` acked messages ids 1000-0, 1001-0, ... */
function room(n: number, sent: number, ordered = true) {
  const ledger = new Ledger(ordered);
  const r = ledger.addRoom('r');
  const members = Array.from({ length: n }, (_, i) => ledger.addMember(r, i));
  const ids: string[] = [];
  for (let i = 0; i < sent; i++) {
    const seq = ledger.nextSeq(r);
    ids.push(`${1000 + seq}-0`);
    ledger.acked(r, seq, ids[seq]!);
  }
  return { ledger, r, members, ids };
}

describe('Ledger', () => {
  it('passes when every member got every acked message once, in order', () => {
    const { ledger, members, ids } = room(3, 4);
    for (const m of members) ids.forEach((id, seq) => expect(ledger.delivered(m, seq, id)).toBe('new'));
    expect(ledger.maybeComplete()).toBe(true);
    const v = ledger.verify();
    expect(v).toMatchObject({ sent: 4, acked: 4, expectedDeliveries: 12, lost: 0, duplicated: 0, outOfOrder: 0, idMismatches: 0, pending: 0 });
    expect(members[0]!.lastId).toBe('1003-0');
  });

  it('counts a message a member never got as lost, with a sample', () => {
    const { ledger, members, ids } = room(2, 3);
    ids.forEach((id, seq) => ledger.delivered(members[0]!, seq, id));
    ledger.delivered(members[1]!, 0, ids[0]!);
    ledger.delivered(members[1]!, 2, ids[2]!);
    expect(ledger.maybeComplete()).toBe(false);
    const v = ledger.verify();
    expect(v.lost).toBe(1);
    expect(v.lostSamples).toEqual([{ room: 'r', seq: 1, id: '1001-0', client: 1 }]);
  });

  it('counts duplicates without counting them as deliveries', () => {
    const { ledger, members, ids } = room(1, 2);
    ledger.delivered(members[0]!, 0, ids[0]!);
    expect(ledger.delivered(members[0]!, 0, ids[0]!)).toBe('duplicate');
    ledger.delivered(members[0]!, 1, ids[1]!);
    const v = ledger.verify();
    expect(v.duplicated).toBe(1);
    expect(v.lost).toBe(0);
    expect(members[0]!.received).toBe(2);
  });

  it('detects out-of-order ids and keeps the highest id as the resume point', () => {
    const { ledger, members, ids } = room(1, 3);
    ledger.delivered(members[0]!, 0, ids[0]!);
    ledger.delivered(members[0]!, 2, ids[2]!);
    ledger.delivered(members[0]!, 1, ids[1]!);
    expect(ledger.verify().outOfOrder).toBe(1);
    expect(members[0]!.lastId).toBe('1002-0');
  });

  it('compares ids numerically, not as strings', () => {
    const ledger = new Ledger();
    const r = ledger.addRoom('r');
    const m = ledger.addMember(r, 0);
    const a = ledger.nextSeq(r);
    const b = ledger.nextSeq(r);
    ledger.delivered(m, a, '999-5');
    ledger.delivered(m, b, '1000-0');
    expect(ledger.outOfOrder).toBe(0);
  });

  it('does not check order for an unordered stack', () => {
    const { ledger, members, ids } = room(1, 2, false);
    ledger.delivered(members[0]!, 1, ids[1]!);
    ledger.delivered(members[0]!, 0, ids[0]!);
    expect(ledger.outOfOrder).toBe(0);
  });

  it('expects nothing for refused sends and tolerates unknown outcomes either way', () => {
    const ledger = new Ledger();
    const r = ledger.addRoom('r');
    const m = ledger.addMember(r, 0);
    const refused = ledger.nextSeq(r);
    const lostSocket = ledger.nextSeq(r);
    const deliveredUnknown = ledger.nextSeq(r);
    expect(ledger.maybeComplete()).toBe(false); // three outcomes pending
    ledger.failed(r, refused);
    ledger.unknown(r, lostSocket);
    ledger.unknown(r, deliveredUnknown);
    ledger.delivered(m, deliveredUnknown, '5-0');
    // A late ack after the outcome was settled changes nothing.
    ledger.acked(r, lostSocket, '4-0');
    const v = ledger.verify();
    expect(v).toMatchObject({ sent: 3, acked: 0, failed: 1, unknown: 2, lost: 0, pending: 0 });
    expect(ledger.maybeComplete()).toBe(true);
  });

  it('flags the same message seen with two different ids', () => {
    const { ledger, members } = room(2, 1);
    ledger.delivered(members[0]!, 0, '1000-0');
    ledger.delivered(members[1]!, 0, '2000-0');
    expect(ledger.idMismatches).toBe(1);
    expect(ledger.idMismatchSamples[0]).toMatchObject({ seq: 0, first: '1000-0', other: '2000-0' });
  });

  it('forgets a member whose first join failed', () => {
    const { ledger, r, members } = room(2, 1);
    ledger.delivered(members[0]!, 0, '1000-0');
    ledger.removeMember(members[1]!);
    expect(r.members).toHaveLength(1);
    expect(ledger.verify().lost).toBe(0);
  });
});
