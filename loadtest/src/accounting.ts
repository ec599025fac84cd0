/**
 * Delivery accounting: which message every member of a room got, and what is
 * missing, duplicated or out of order.
 *
 * Messages are numbered per room by the load generator when it sends them
 * (`seq`, carried in the text); each member keeps a bitset of the seqs it got.
 * A message counts as lost when the server acknowledged it and some member of
 * its room has not received it by the end (after the drain). Messages refused
 * with an error are not expected anywhere; messages whose sender's socket died
 * before the outcome arrived are "unknown": delivering them is fine, missing
 * them is not a loss.
 */
import { compareIds } from '../../server/src/protocol.js';

/** A growable set of small non-negative integers. */
export class Bitset {
  private bytes = new Uint8Array(128);

  has(i: number): boolean {
    const byte = i >>> 3;
    return byte < this.bytes.length && (this.bytes[byte]! & (1 << (i & 7))) !== 0;
  }

  /** Sets bit i; returns false if it was already set. */
  add(i: number): boolean {
    const byte = i >>> 3;
    if (byte >= this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size <= byte) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    const mask = 1 << (i & 7);
    const old = this.bytes[byte]!;
    if (old & mask) return false;
    this.bytes[byte] = old | mask;
    return true;
  }
}

export type Outcome = 'pending' | 'acked' | 'failed' | 'unknown';

/** What a receiver keeps for one room it is in. */
export interface Member {
  client: number;
  room: RoomLedger;
  seen: Bitset;
  /** Highest message id received: resume point (`since`) and order check. */
  lastId: string | undefined;
  received: number;
}

export interface RoomLedger {
  index: number;
  name: string;
  members: Member[];
  /** seq → outcome; seqs are dense from 0. */
  outcomes: Outcome[];
  /** seq → the first id seen for it (ack or delivery), to catch id mismatches. */
  ids: (string | undefined)[];
  acked: number;
  /** Distinct (member, seq) deliveries. */
  uniqueDeliveries: number;
}

export type DeliveryKind = 'new' | 'duplicate';

export interface LostSample {
  room: string;
  seq: number;
  id: string | undefined;
  client: number;
}

/** A message seen with two different ids: the server broke the one-id-per-message promise. */
export interface IdMismatchSample {
  room: string;
  seq: number;
  first: string;
  other: string;
}

export interface Verdict {
  sent: number;
  acked: number;
  failed: number;
  unknown: number;
  pending: number;
  /** acked × members of its room */
  expectedDeliveries: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  idMismatches: number;
  lostSamples: LostSample[];
}

export class Ledger {
  readonly rooms: RoomLedger[] = [];
  duplicated = 0;
  outOfOrder = 0;
  idMismatches = 0;
  /** The first few (room, seq, first id, other id) seen with two different ids. */
  readonly idMismatchSamples: IdMismatchSample[] = [];
  pending = 0;

  /** `ordered`: ids are globally ordered per room (Roomcast), so order is checked. */
  constructor(private readonly ordered = true) {}

  addRoom(name: string): RoomLedger {
    const room: RoomLedger = { index: this.rooms.length, name, members: [], outcomes: [], ids: [], acked: 0, uniqueDeliveries: 0 };
    this.rooms.push(room);
    return room;
  }

  addMember(room: RoomLedger, client: number): Member {
    const member: Member = { client, room, seen: new Bitset(), lastId: undefined, received: 0 };
    room.members.push(member);
    return member;
  }

  /** Forgets a member whose first join failed (it was never in the room). */
  removeMember(member: Member): void {
    const list = member.room.members;
    const i = list.indexOf(member);
    if (i >= 0) list.splice(i, 1);
    member.room.uniqueDeliveries -= member.received;
  }

  /** Allocates the next seq of a room for a message about to be sent. */
  nextSeq(room: RoomLedger): number {
    this.pending++;
    room.ids.push(undefined);
    return room.outcomes.push('pending') - 1;
  }

  /** The server stored the message (the sender got its own copy with its ref). */
  acked(room: RoomLedger, seq: number, id: string): void {
    if (!this.settle(room, seq, 'acked')) return;
    room.acked++;
    this.checkId(room, seq, id);
  }

  /** The server refused the message with an error frame. */
  failed(room: RoomLedger, seq: number): void {
    this.settle(room, seq, 'failed');
  }

  /** The sender's socket closed before the outcome arrived. */
  unknown(room: RoomLedger, seq: number): void {
    this.settle(room, seq, 'unknown');
  }

  /** A member received message `seq` with id `id`. */
  delivered(member: Member, seq: number, id: string): DeliveryKind {
    const room = member.room;
    if (!member.seen.add(seq)) {
      this.duplicated++;
      return 'duplicate';
    }
    member.received++;
    room.uniqueDeliveries++;
    this.checkId(room, seq, id);
    if (member.lastId === undefined) member.lastId = id;
    else if (!this.ordered || compareIds(id, member.lastId) > 0) member.lastId = id;
    else this.outOfOrder++;
    return 'new';
  }

  /**
   * Cheap test for "probably complete", to poll during the drain: no send
   * awaits its outcome and each room has at least as many distinct deliveries
   * as it needs. `verify()` then says for sure.
   */
  maybeComplete(): boolean {
    if (this.pending > 0) return false;
    return this.rooms.every((r) => r.uniqueDeliveries >= r.acked * r.members.length);
  }

  verify(maxSamples = 10): Verdict {
    let sent = 0;
    let failed = 0;
    let unknown = 0;
    let acked = 0;
    let expected = 0;
    let lost = 0;
    const lostSamples: LostSample[] = [];
    for (const room of this.rooms) {
      sent += room.outcomes.length;
      for (let seq = 0; seq < room.outcomes.length; seq++) {
        const outcome = room.outcomes[seq];
        if (outcome === 'failed') failed++;
        else if (outcome === 'unknown') unknown++;
        if (outcome !== 'acked') continue;
        acked++;
        expected += room.members.length;
        for (const member of room.members) {
          if (member.seen.has(seq)) continue;
          lost++;
          if (lostSamples.length < maxSamples) lostSamples.push({ room: room.name, seq, id: room.ids[seq], client: member.client });
        }
      }
    }
    return {
      sent,
      acked,
      failed,
      unknown,
      pending: this.pending,
      expectedDeliveries: expected,
      lost,
      duplicated: this.duplicated,
      outOfOrder: this.outOfOrder,
      idMismatches: this.idMismatches,
      lostSamples,
    };
  }

  private settle(room: RoomLedger, seq: number, outcome: Outcome): boolean {
    if (room.outcomes[seq] !== 'pending') return false;
    room.outcomes[seq] = outcome;
    this.pending--;
    return true;
  }

  private checkId(room: RoomLedger, seq: number, id: string): void {
    const known = room.ids[seq];
    if (known === undefined) room.ids[seq] = id;
    else if (known !== id) {
      this.idMismatches++;
      if (this.idMismatchSamples.length < 10) this.idMismatchSamples.push({ room: room.name, seq, first: known, other: id });
    }
  }
}
