/**
 * ChatApi over a fake fetch: a server that never answers does not leave a
 * request (a history page, a login) pending forever.
 */
import { describe, expect, it } from 'vitest';
import { ChatApi, type FetchLike } from './api';

/** A fetch that answers nothing, and rejects as the platform does when its signal aborts. */
const silentServer: FetchLike = (_url, init) =>
  new Promise((_resolve, reject) => {
    init?.signal?.addEventListener('abort', () => reject(init.signal!.reason));
  });

describe('ChatApi', () => {
  it('gives up on a request the server never answers, with a TimeoutError', async () => {
    const api = new ChatApi(silentServer, 'http://chat.test', 20);
    await expect(api.messages('token', 'lobby', undefined, 50)).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('answers as before when the server does', async () => {
    let signal: AbortSignal | undefined;
    const fetch: FetchLike = async (_url, init) => {
      signal = init?.signal ?? undefined;
      return new Response(JSON.stringify({ messages: [], truncated: false }), { status: 200 });
    };
    const api = new ChatApi(fetch, 'http://chat.test');
    expect(await api.messages('token', 'lobby', undefined, 50)).toEqual({ messages: [], truncated: false });
    expect(signal).toBeInstanceOf(AbortSignal);
  });
});
