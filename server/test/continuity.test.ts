/**
 * Section C of contract v2 against real processes: a client resuming after
 * Redis lost a room's log is never told it missed nothing.
 */
import { redisCommand } from '@roomcast/deploy/local';
import { describe, expect, it } from 'vitest';
import type { ChatMessage, JoinedFrame } from '../src/protocol.js';
import { TestClient, isMessage } from './support/client.js';
import { replicaWsUrl, useTestCluster } from './support/cluster.js';
import { mintToken, nowSeconds } from './support/tokens.js';

const harness = useTestCluster();
const { clients } = harness;

async function connect(index: number): Promise<TestClient> {
  const token = await mintToken(harness.cluster.secret, { sub: 'u_resumer', name: 'resumer', exp: nowSeconds() + 3600 });
  const client = await TestClient.connect(replicaWsUrl(harness.cluster, index), token, `resumer@n${index + 1}`, 10_000, true);
  clients.add(client);
  return client;
}

async function resume(client: TestClient, room: string, since: string, epoch: string): Promise<JoinedFrame> {
  client.send({ type: 'join', room, since, epoch });
  return client.next<JoinedFrame>((f) => f.type === 'joined' && f.room === room);
}

describe('continuity (joined.epoch)', () => {
  it("a client resuming with its old since and epoch after the room's log was deleted gets truncated: true", async () => {
    const room = `lost-${process.pid}`;
    const first = await connect(0);
    const joined = await first.join(room);
    expect(joined.epoch).toEqual(expect.any(String));
    let last: ChatMessage | undefined;
    for (const text of ['one', 'two', 'three']) last = (await first.say(room, text)) as ChatMessage;
    await first.close();

    // Nothing lost yet: resuming on another replica with the same epoch replays nothing and vouches for it.
    const second = await connect(1);
    expect(await resume(second, room, last!.id, joined.epoch)).toMatchObject({ truncated: false, epoch: joined.epoch });
    await second.close();

    // Redis loses the room's log (a failover to a replica that lacked it, a restore from an old snapshot...).
    await redisCommand(harness.cluster.redis.port, ['DEL', `rc:{${room}}:log`]);
    const third = await connect(2);
    const afterLoss = await resume(third, room, last!.id, joined.epoch);
    expect(afterLoss.truncated).toBe(true);

    // The log and its epoch both lost, then written again: the new epoch tells the client.
    await redisCommand(harness.cluster.redis.port, ['DEL', `rc:{${room}}:log`, `rc:{${room}}:epoch`]);
    const writer = await connect(0);
    await writer.join(room);
    const fresh = (await writer.say(room, 'after the loss')) as ChatMessage;
    const fourth = await connect(1);
    const again = await resume(fourth, room, last!.id, joined.epoch);
    expect(again.epoch).not.toBe(joined.epoch);
    expect(again.truncated).toBe(true);
    await fourth.waitForId(room, fresh.id);
    expect(fourth.messages(room).filter(isMessage).map((m) => m.id)).toEqual([fresh.id]);
  });
});
