import type { APIRequestContext, WebSocketRoute } from '@playwright/test';
import { expect, signIn, test, type ChatUser } from './fixtures.js';

/** What the server stored in `room`, oldest first (read over HTTP by a third user). */
async function stored(request: APIRequestContext, room: string): Promise<string[]> {
  const login = await request.post('/api/login', { data: { name: 'auditor' } });
  const { token } = (await login.json()) as { token: string };
  const response = await request.get(`/api/rooms/${room}/messages?limit=100`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status()).toBe(200);
  return ((await response.json()) as { messages: Array<{ text: string }> }).messages.map((m) => m.text);
}

/**
 * A switch that makes the server unreachable for a browser context while the
 * page itself still loads from nginx: once `block()`ed, every /api call fails
 * and every new socket is closed as soon as it opens. Socket routes apply to
 * documents loaded after they are set, so the page is reloaded once here.
 */
async function serverSwitch(user: ChatUser): Promise<{ block: () => void; restore: () => void }> {
  let blocked = false;
  const context = user.page.context();
  await context.route('**/api/**', (route) => (blocked ? route.abort('connectionrefused') : route.continue()));
  await context.routeWebSocket('**/ws', (ws: WebSocketRoute) => {
    if (blocked) void ws.close({ code: 1011, reason: 'unreachable' });
    else ws.connectToServer();
  });
  await user.page.reload();
  await expect(user.badge).toHaveAttribute('data-status', 'connected');
  return {
    block: () => {
      blocked = true;
    },
    restore: () => {
      blocked = false;
    },
  };
}

const statuses = (user: ChatUser) => user.messages.getByTestId('send-status');
const banner = (user: ChatUser) => user.page.getByTestId('connection-banner');

test('written offline, reloaded while the server is unreachable, back online: each message arrives once, in order', async ({ browser, request }) => {
  const room = 'outbox';
  const alice = await signIn(browser, 'alice', room);
  const bob = await signIn(browser, 'bob', room);
  const server = await serverSwitch(bob);
  await alice.say('anyone here?');
  await expect(bob.messageTexts).toHaveText(['anyone here?']);

  // Offline: bob writes three messages; they wait on his device.
  await bob.page.context().setOffline(true);
  await expect(banner(bob)).toHaveAttribute('data-state', 'offline');
  for (const text of ['one', 'two', 'three']) await bob.say(text);
  await expect(statuses(bob)).toHaveText(['Unsent', 'Unsent', 'Unsent']);
  await expect(bob.page.getByTestId('unsent-count')).toHaveText('3 unsent messages.');

  // The network is back but the server is not, and bob reloads the page.
  server.block();
  await bob.page.context().setOffline(false);
  await bob.page.reload();

  // The conversation as it was, marked as not live; the three unsent messages still there.
  await expect(bob.page.getByRole('heading', { name: room, exact: true })).toBeVisible();
  await expect(bob.messageTexts).toHaveText(['anyone here?', 'one', 'two', 'three']);
  await expect(statuses(bob)).toHaveText(['Unsent', 'Unsent', 'Unsent']);
  await expect(banner(bob)).toHaveAttribute('data-state', 'reconnecting');
  await expect(banner(bob)).toContainText('Cannot reach the server');
  await expect(bob.page.getByTestId('room-meta')).toHaveText('2 here when last connected');
  await expect(bob.presentUser('alice')).toBeAttached();
  // The composer queues into the outbox meanwhile.
  await bob.say('four');
  await expect(statuses(bob)).toHaveText(['Unsent', 'Unsent', 'Unsent', 'Unsent']);
  await expect(bob.page.getByTestId('unsent-count')).toHaveText('4 unsent messages.');
  expect(await stored(request, room)).toEqual(['anyone here?']);

  // Every state the banner shows from now on (the way back may be quicker than a poll).
  await bob.page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { bannerStates: string[] }).bannerStates = seen;
    const record = () => {
      const state = document.querySelector('[data-testid="connection-banner"]')?.getAttribute('data-state') ?? 'none';
      if (seen.at(-1) !== state) seen.push(state);
    };
    record();
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
  });

  // The server answers again: "Retry now" skips the backoff wait — unless the client's own retry
  // got there first (the button then goes away with the 'reconnecting' state; that race is fine).
  server.restore();
  await banner(bob)
    .getByRole('button', { name: 'Retry now' })
    .click({ timeout: 3000 })
    .catch(async () => expect(banner(bob)).not.toHaveAttribute('data-state', 'reconnecting'));
  const all = ['anyone here?', 'one', 'two', 'three', 'four'];
  await expect(alice.messageTexts).toHaveText(all);
  await expect(bob.messageTexts).toHaveText(all);
  await expect(statuses(bob)).toHaveCount(0);
  // Stored once each, in the order written.
  expect(await stored(request, room)).toEqual(all);
  // "Back online" was said, and the banner then went away by itself.
  await expect(banner(bob)).toHaveCount(0);
  const states = await bob.page.evaluate(() => (window as unknown as { bannerStates: string[] }).bannerStates);
  expect(states).toContain('back-online');
  expect(states.slice(states.indexOf('back-online'))).toEqual(['back-online', 'none']);
});

test('messages typed fast, or piled up offline beyond the server’s burst, all arrive in order, with no manual step and no refusal', async ({ browser, request }) => {
  const room = 'burst';
  const alice = await signIn(browser, 'alice', room);
  const bob = await signIn(browser, 'bob', room);
  // Every error frame alice's page gets from now on.
  const errors: string[] = [];
  alice.page.on('websocket', (socket) =>
    socket.on('framereceived', ({ payload }) => {
      const frame = JSON.parse(String(payload)) as { type: string; code?: string };
      if (frame.type === 'error') errors.push(frame.code ?? '?');
    }),
  );
  await alice.page.reload();
  await expect(alice.badge).toHaveAttribute('data-status', 'connected');

  // 20 as fast as the keyboard goes.
  const quick = Array.from({ length: 20 }, (_, i) => `quick ${i + 1}`);
  for (const text of quick) {
    await alice.composer.fill(text);
    await alice.composer.press('Enter');
  }
  await expect(bob.messageTexts).toHaveText(quick);

  // 45 written offline go out at once when the network is back: more than the server's burst
  // of 30 sends per socket, so the client paces them instead of having a third refused.
  await alice.page.context().setOffline(true);
  await expect(alice.badge).toHaveAttribute('data-status', 'offline');
  const piled = Array.from({ length: 45 }, (_, i) => `piled ${i + 1}`);
  for (const text of piled) {
    await alice.composer.fill(text);
    await alice.composer.press('Enter');
  }
  const unsent = alice.messages.locator('[data-status="pending"], [data-status="failed"]');
  await expect(unsent).toHaveCount(45);
  await alice.page.context().setOffline(false);

  const all = [...quick, ...piled];
  await expect(bob.messageTexts).toHaveText(all, { timeout: 30_000 });
  await expect(alice.messageTexts).toHaveText(all);
  await expect(unsent).toHaveCount(0);
  expect(errors).toEqual([]);
  expect(await stored(request, room)).toEqual(all);
});

test('a message the server refuses for good says why, in place, and can be edited and sent again', async ({ browser }) => {
  const room = 'refusals';
  const alice = await signIn(browser, 'alice', room);
  const bob = await signIn(browser, 'bob', room);
  // A server with a stricter limit than the client knows: it refuses anything with "enormous" in it.
  await bob.page.context().routeWebSocket('**/ws', (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      const frame = JSON.parse(String(message)) as { type: string; text?: string; ref?: string };
      if (frame.type === 'send' && frame.text?.includes('enormous')) {
        ws.send(JSON.stringify({ type: 'error', code: 'too_large', message: 'text is over this server’s limit', ref: frame.ref }));
      } else {
        server.send(message);
      }
    });
  });
  await bob.page.reload();
  await expect(bob.badge).toHaveAttribute('data-status', 'connected');

  await bob.say('an enormous essay');
  await bob.say('a short note');
  const refused = bob.messages.locator('[data-status="failed"]');
  await expect(refused).toContainText('an enormous essay');
  await expect(refused.getByRole('alert')).toContainText('Not sent: It is too long.');
  // The one after it was not held up.
  await expect(alice.messageTexts).toHaveText(['a short note']);

  await refused.getByRole('button', { name: 'Edit' }).click();
  await expect(refused).toHaveCount(0);
  await expect(bob.composer).toHaveValue('an enormous essay');
  await expect(bob.composer).toBeFocused();
  await bob.composer.fill('a shorter essay');
  await bob.composer.press('Enter');
  await expect(alice.messageTexts).toHaveText(['a short note', 'a shorter essay']);
});

test('a draft survives a reload', async ({ browser }) => {
  const alice = await signIn(browser, 'alice', 'drafts');
  await alice.composer.fill('half a thought');
  await alice.page.reload();
  await expect(alice.composer).toHaveValue('half a thought');
});
