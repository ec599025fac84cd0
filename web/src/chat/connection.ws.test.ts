/**
 * The client over a real socket: the `ws` package's WebSocket against a small
 * scripted `ws` server (the real server is exercised by the e2e suite).
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { ChatMessage, ClientFrame, ServerFrame } from '@roomcast/server/protocol';
import { ChatClient } from './connection.js';
import type { ChatState } from './state.js';
import { ALICE, BOB, MemoryStore, fakeFetch, fakeToken, joinedFrame } from './test-support/fakes.js';

const TOKEN = fakeToken(Math.floor(Date.now() / 1000) + 3600);

/** A server that speaks just enough of the contract; `dropFirst` closes the first socket after the join. */
async function scriptedServer(options: { dropFirst?: boolean } = {}) {
  // Like the real server: select `roomcast`, never the protocol carrying the token.
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (offered) => (offered.has('roomcast') ? 'roomcast' : false) });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const history: ChatMessage[] = [{ type: 'message', room: 'lobby', id: '100-0', ts: 100, user: BOB, text: 'hello from history' }];
  const tokens: string[] = [];
  const urls: string[] = [];
  const protocols: string[] = [];
  const joins: ClientFrame[] = [];
  let sockets = 0;
  server.on('connection', (socket, request) => {
    const node = `n${++sockets}`;
    const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    tokens.push(offered.find((p) => p.startsWith('roomcast.bearer.'))?.slice('roomcast.bearer.'.length) ?? '');
    urls.push(request.url ?? '');
    protocols.push(socket.protocol);
    const send = (frame: ServerFrame) => socket.send(JSON.stringify(frame));
    send({ type: 'welcome', user: ALICE, connectionId: `c${sockets}`, node });
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ClientFrame;
      if (frame.type === 'join') {
        joins.push(frame);
        send(joinedFrame(frame.room, [ALICE, BOB]));
        for (const message of history) if (!frame.since || message.id > frame.since) send(message);
        if (options.dropFirst && node === 'n1') socket.terminate();
      } else if (frame.type === 'ping') {
        send({ type: 'pong', ref: frame.ref });
      } else if (frame.type === 'send') {
        const message: ChatMessage = { type: 'message', room: frame.room, id: `${200 + history.length}-0`, ts: 200, user: ALICE, text: frame.text, ref: frame.ref };
        history.push(message);
        send(message);
      }
    });
  });
  const { port } = server.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}`, server, tokens, urls, protocols, joins };
}

/** Resolves when the client's state satisfies `predicate` (no sleeps: driven by change events). */
function until(client: ChatClient, predicate: (state: ChatState) => boolean): Promise<ChatState> {
  return new Promise((resolve) => {
    const check = () => {
      if (!predicate(client.getSnapshot())) return;
      unsubscribe();
      resolve(client.getSnapshot());
    };
    const unsubscribe = client.subscribe(check);
    check();
  });
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function connect(url: string): ChatClient {
  const store = new MemoryStore();
  store.setItem('roomcast.session', JSON.stringify({ token: TOKEN, user: ALICE }));
  const client = new ChatClient({
    WebSocket,
    fetch: fakeFetch(() => ({ status: 200, body: {} })).fetch,
    wsBase: url,
    storage: store,
    backoff: { baseMs: 20, maxMs: 100 },
  });
  client.start();
  client.openRoom('lobby');
  cleanups.push(() => client.stop());
  return client;
}

describe('ChatClient over a real WebSocket', () => {
  it('connects with the token, joins, gets history and sends', async () => {
    const server = await scriptedServer();
    cleanups.push(() => server.server.close());
    const client = connect(server.url);

    await until(client, (s) => s.connection.status === 'connected' && s.rooms.lobby?.messages.length === 1);
    expect(server.tokens).toEqual([TOKEN]);
    expect(server.urls).toEqual(['/ws']);
    expect(server.protocols).toEqual(['roomcast']);

    client.send('lobby', 'over the wire');
    const state = await until(client, (s) => s.rooms.lobby?.messages.length === 2);
    expect(state.rooms.lobby?.pending).toEqual([]);
    expect(state.rooms.lobby?.messages.map((m) => m.text)).toEqual(['hello from history', 'over the wire']);
  });

  it('reconnects after the socket dies and resumes with since', async () => {
    const server = await scriptedServer({ dropFirst: true });
    cleanups.push(() => server.server.close());
    const client = connect(server.url);

    const state = await until(client, (s) => s.connection.status === 'connected' && s.connection.node === 'n2' && s.rooms.lobby?.joined === true);
    expect(server.joins).toMatchObject([{ room: 'lobby' }, { room: 'lobby', since: '100-0' }]);
    expect(state.rooms.lobby?.messages.map((m) => m.id)).toEqual(['100-0']);
  });
});
