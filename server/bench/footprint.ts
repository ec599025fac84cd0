/**
 * What Redis holds for a given number of rooms and messages: starts a
 * redis-server of its own, fills it through the real broker and room store,
 * and prints `used_memory` per room and per message.
 *
 *   npx tsx server/bench/footprint.ts [--rooms 2000] [--messages 50] [--text 100]
 *
 * Each room gets `--messages` messages of `--text` characters from 3 users,
 * and is a private room with 3 members (a record, members and names).
 */
import { parseArgs } from 'node:util';
import { redisCommand, startRedis } from '@roomcast/deploy/local';
import { RedisBroker } from '../src/broker/redis.js';
import { RedisRoomStore } from '../src/rooms/redis.js';

const { values } = parseArgs({
  options: { rooms: { type: 'string', default: '2000' }, messages: { type: 'string', default: '50' }, text: { type: 'string', default: '100' } },
});
const rooms = Number(values.rooms);
const perRoom = Number(values.messages);
const text = 'x'.repeat(Number(values.text));

const redis = await startRedis({ appendonly: false });
const usedMemory = async (): Promise<number> => {
  const info = String(await redisCommand(redis.port, ['INFO', 'memory']));
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
};
try {
  const broker = new RedisBroker({ redis: { mode: 'single', url: redis.url, tls: false }, historyMaxLen: 1000, commandTimeoutMs: 10_000, idleTtlMs: 90 * 86_400_000 });
  await broker.ready(10_000);
  const store = new RedisRoomStore({ redis: broker.client, keys: broker.keys, idleTtlMs: 90 * 86_400_000 });
  const users = [0, 1, 2].map((i) => ({ id: `u_user${i}_0123456789`, name: `user ${i}` }));
  const base = await usedMemory();

  const names = Array.from({ length: rooms }, (_, i) => `room-${i}`);
  for (let i = 0; i < names.length; i += 200) {
    await Promise.all(names.slice(i, i + 200).map((room) => store.create({ room, private: true, owner: users[0]!, members: [users[1]!.id, users[2]!.id] })));
  }
  const afterRecords = await usedMemory();

  for (let m = 0; m < perRoom; m++) {
    for (let i = 0; i < names.length; i += 500) {
      await Promise.all(names.slice(i, i + 500).map((room) => broker.publish({ room, user: users[m % 3]!, text, ref: `ref-${m}` })));
    }
  }
  const afterMessages = await usedMemory();
  // Each send's idempotency key lives 10 minutes: what stays is the history alone.
  let cursor = '0';
  do {
    const [next, keys] = await broker.client.scan(cursor, 'MATCH', '*:sent:*', 'COUNT', 1000);
    if (keys.length > 0) await broker.client.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  const settled = await usedMemory();
  await broker.close();

  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  console.log(`rooms: ${rooms}, messages per room: ${perRoom}, text: ${text.length} characters, 3 members each`);
  console.log(`private room record + members + per-user index: ${(((afterRecords - base) / rooms) | 0)} bytes per room (${kib(afterRecords - base)} in all)`);
  const perMessage = (bytes: number) => `${(bytes / (rooms * perRoom)) | 0} bytes per message`;
  console.log(`history, for the 10 minutes each send's idempotency key lives: ${perMessage(afterMessages - afterRecords)} (${kib(afterMessages - afterRecords)} in all)`);
  console.log(`history, after: ${perMessage(settled - afterRecords)} (${kib(settled - afterRecords)} in all)`);
  console.log(`total: ${kib(settled - base)} for ${rooms * perRoom} messages`);
} finally {
  await redis.stop();
}
