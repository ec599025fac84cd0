import type { MemoryBroker } from '../broker/memory.js';
import type { MemoryPresence } from '../presence/memory.js';
import type { Role, RoomInfo, User } from '../protocol.js';
import { removedFrame, type CreateOutcome, type CreateRoom, type MemberRecord, type RoomStore, type RoomView } from './store.js';

interface RoomRecord {
  private: boolean;
  owner?: string;
  /** For a DM: its two members. */
  dm?: [string, string];
  members: Map<string, Role>;
  names: Map<string, string>;
  touchedAt: number;
}

/** Room records of the embedded single-process mode; same contract as RedisRoomStore. */
export class MemoryRoomStore implements RoomStore {
  private readonly rooms = new Map<string, RoomRecord>();
  /** user id → rooms created, with the time of each (the count expires with the idle TTL). */
  private readonly created = new Map<string, number[]>();

  constructor(
    private readonly broker: MemoryBroker,
    private readonly presence: MemoryPresence,
    private readonly options: { idleTtlMs: number; now?: () => number },
  ) {}

  async view(room: string, userId: string): Promise<RoomView> {
    const record = this.record(room);
    if (!record) return { exists: false, private: false, role: null };
    const view: RoomView = { exists: true, private: record.private, role: record.members.get(userId) ?? null };
    if (record.owner) view.owner = record.owner;
    const peer = record.dm && peerOf(record.dm, userId);
    if (peer) view.peer = peer;
    return view;
  }

  async create(input: CreateRoom): Promise<CreateOutcome> {
    const { room, owner } = input;
    if (this.record(room) || this.broker.hasHistory(room) || this.presence.hasUsers(room)) return 'exists';
    const members = new Map<string, Role>(input.members.map((id) => [id, 'member']));
    members.set(owner.id, 'owner');
    this.rooms.set(room, { private: input.private, owner: owner.id, members, names: new Map([[owner.id, owner.name]]), touchedAt: this.now() });
    return 'created';
  }

  async ensureDm(room: string, a: User, b: string): Promise<boolean> {
    let record = this.record(room);
    const created = !record;
    if (!record) {
      record = { private: true, dm: [a.id, b], members: new Map([[b, 'member']]), names: new Map(), touchedAt: this.now() };
      this.rooms.set(room, record);
    }
    record.members.set(a.id, 'member');
    record.names.set(a.id, a.name);
    record.touchedAt = this.now();
    return created;
  }

  async setRole(room: string, userId: string, role: Role): Promise<Role | null> {
    const record = this.record(room);
    if (!record) throw new Error(`room ${room} has no record`);
    const previous = record.members.get(userId) ?? null;
    if (previous === 'owner') return 'owner';
    record.members.set(userId, role);
    record.touchedAt = this.now();
    return previous;
  }

  async remove(room: string, userId: string): Promise<boolean> {
    const record = this.record(room);
    if (!record?.members.delete(userId)) return false;
    record.names.delete(userId);
    if (record.owner === userId) delete record.owner;
    this.broker.deliverRemoval(room, userId, removedFrame(room));
    return true;
  }

  async members(room: string): Promise<MemberRecord[]> {
    const record = this.record(room);
    if (!record) return [];
    return [...record.members].map(([id, role]) => {
      const name = record.names.get(id);
      return name === undefined ? { id, role } : { id, role, name };
    });
  }

  async rememberName(room: string, user: User): Promise<void> {
    this.record(room)?.names.set(user.id, user.name);
  }

  async roomsOf(userId: string): Promise<RoomInfo[]> {
    const out: RoomInfo[] = [];
    for (const [name] of this.rooms) {
      const record = this.record(name);
      const role = record?.members.get(userId);
      if (!record || !role) continue;
      const info: RoomInfo = { name, private: record.private, role };
      const peer = record.dm && peerOf(record.dm, userId);
      if (peer) info.peer = peer;
      out.push(info);
    }
    return out;
  }

  async countCreation(userId: string, max: number): Promise<boolean> {
    const now = this.now();
    const ttl = this.options.idleTtlMs;
    const times = (this.created.get(userId) ?? []).filter((t) => ttl === 0 || now - t < ttl);
    if (times.length >= max) return false;
    times.push(now);
    this.created.set(userId, times);
    return true;
  }

  async uncountCreation(userId: string): Promise<void> {
    this.created.get(userId)?.pop();
  }

  /** The room's record, unless it expired (idle for the TTL), in which case it is dropped. */
  private record(room: string): RoomRecord | undefined {
    const record = this.rooms.get(room);
    const ttl = this.options.idleTtlMs;
    if (record && ttl > 0 && this.now() - record.touchedAt >= ttl && !this.broker.hasHistory(room)) {
      this.rooms.delete(room);
      return undefined;
    }
    return record;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}

function peerOf(dm: [string, string], userId: string): string | undefined {
  return dm[0] === userId ? dm[1] : dm[1] === userId ? dm[0] : undefined;
}
