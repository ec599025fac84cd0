import type { Page } from '@playwright/test';
import { expect, signIn, test, type ChatUser } from './fixtures.js';

/** The session the page keeps for the tab (token and own user). */
function session(page: Page): Promise<{ token: string; user: { id: string; name: string } }> {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('roomcast.session') ?? 'null'));
}

/** An HTTP call from inside the page, with its own token (same origin, as the app does it). */
async function apiStatus(page: Page, path: string): Promise<number> {
  const { token } = await session(page);
  return page.evaluate(async ([p, t]) => (await fetch(p!, { headers: { authorization: `Bearer ${t}` } })).status, [path, token]);
}

/** Every room the page asks to join on sockets opened from now on. */
function recordJoins(page: Page): string[] {
  const joins: string[] = [];
  page.on('websocket', (socket) =>
    socket.on('framesent', ({ payload }) => {
      const frame = JSON.parse(String(payload)) as { type?: string; room?: string };
      if (frame.type === 'join' && frame.room) joins.push(frame.room);
    }),
  );
  return joins;
}

const roomLink = (user: ChatUser, room: string) => user.page.getByTestId('rooms').getByRole('link', { name: room });
const dmLink = (user: ChatUser, peer: string) => user.page.getByTestId('dms').getByRole('link', { name: peer });
const heading = (user: ChatUser, title: string) => user.page.getByRole('heading', { name: title, exact: true });

test('a private room is invisible and unjoinable for an outsider; a refused join is said once and not retried', async ({ browser }) => {
  const lobby = 'meeting-point';
  const alice = await signIn(browser, 'alice', lobby);
  const bob = await signIn(browser, 'bob', lobby);
  const carol = await signIn(browser, 'carol', lobby);
  await expect(alice.presentUser('bob')).toBeAttached();

  // Alice creates the room, picking bob among the people she has met.
  await alice.page.getByRole('button', { name: 'New private room' }).click();
  const dialog = alice.page.getByRole('dialog', { name: 'New private room' });
  await expect(dialog.getByLabel('Room name')).toBeFocused();
  await dialog.getByLabel('Room name').fill('secret-plans');
  await dialog.getByRole('checkbox', { name: 'bob' }).check();
  await dialog.getByRole('button', { name: 'Create room' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(heading(alice, 'secret-plans')).toBeVisible();
  await expect(alice.page.getByText('private', { exact: true })).toBeVisible();
  await alice.say('the plan: friday');

  // Bob was invited: the room shows up in his list while he is looking, and he can read it.
  await expect(roomLink(bob, 'secret-plans')).toBeVisible();
  await roomLink(bob, 'secret-plans').click();
  await expect(bob.messageTexts).toHaveText(['the plan: friday']);

  // Carol sees nothing of it: not in her list, not over HTTP.
  await expect(carol.page.getByTestId('rooms').getByRole('link')).toHaveCount(1);
  await expect(roomLink(carol, lobby)).toBeVisible();
  expect(await apiStatus(carol.page, '/api/rooms/secret-plans/messages')).toBe(403);

  // A link to it: refused once, with a notice, nothing of the room shown, and the page back in her room.
  const joins = recordJoins(carol.page);
  await carol.page.goto('/?room=secret-plans');
  const notice = carol.page.getByTestId('notice');
  await expect(notice).toHaveText(/#secret-plans is a private room, and you are not a member/);
  await expect(carol.page).toHaveURL(new RegExp(`#/room/${lobby}$`));
  await expect(heading(carol, lobby)).toBeVisible();
  await expect(roomLink(carol, 'secret-plans')).toHaveCount(0);
  await expect(carol.page.getByText('the plan: friday')).toHaveCount(0);
  expect(joins.filter((room) => room === 'secret-plans')).toEqual(['secret-plans']);

  // Not retried: a reconnect rejoins her room only, and the notice is still one.
  await carol.page.context().setOffline(true);
  await expect(carol.badge).toHaveText('Offline');
  await carol.page.context().setOffline(false);
  await expect(carol.badge).toHaveAttribute('data-status', 'connected');
  await expect.poll(() => joins.filter((room) => room === lobby).length).toBe(2);
  expect(joins.filter((room) => room === 'secret-plans')).toHaveLength(1);
  await expect(notice).toHaveCount(1);
  await notice.getByRole('button', { name: 'Dismiss' }).click();
  await expect(notice).toHaveCount(0);

  // A newcomer whose first link is the private room: told once, and taken to the lobby instead of an empty page.
  const context = await browser.newContext();
  try {
    const dave = await context.newPage();
    await dave.goto('/#/room/secret-plans');
    await dave.getByLabel('Your name').fill('dave');
    await dave.getByRole('button', { name: 'Enter' }).click();
    await expect(dave.getByTestId('notice')).toHaveText(/#secret-plans is a private room/);
    await expect(dave.getByRole('heading', { name: 'lobby', exact: true })).toBeVisible();
    await expect(dave).toHaveURL(/#\/room\/lobby$/);
    await expect(dave.getByText('the plan: friday')).toHaveCount(0);
  } finally {
    await context.close();
  }
});

test('a DM between two browsers: started from the presence list, listed live on the other side', async ({ browser }) => {
  const lobby = 'corridor';
  const dora = await signIn(browser, 'dora', lobby);
  const emil = await signIn(browser, 'emil', lobby);
  const zoe = await signIn(browser, 'zoe', lobby);
  await expect(dora.presentUser('emil')).toBeVisible();

  await dora.presentUser('emil').getByRole('button', { name: 'Message emil' }).click();
  await expect(heading(dora, 'emil')).toBeVisible();
  await expect(dmLink(dora, 'emil')).toHaveAttribute('aria-current', 'page');
  const dmRoom = /#\/room\/(dm-[a-z0-9_-]+)$/.exec(dora.page.url())?.[1];
  expect(dmRoom).toBeDefined();
  await dora.say('hi emil, just us');

  // Emil was not looking: the DM appears under Direct messages, by dora's name, with the message unread.
  await expect(emil.page.getByTestId('dms').getByRole('link')).toHaveCount(1);
  await expect(dmLink(emil, 'dora').getByTestId('unread')).toHaveText('1');
  await dmLink(emil, 'dora').click();
  await expect(emil.page).toHaveURL(new RegExp(`#/room/${dmRoom}$`));
  await expect(heading(emil, 'dora')).toBeVisible();
  await expect(emil.messageTexts).toHaveText(['hi emil, just us']);
  await emil.say('hi dora');
  await expect(dora.messageTexts).toHaveText(['hi emil, just us', 'hi dora']);

  // Zoe, in the same lobby, has no DM listed and cannot read this one.
  await expect(zoe.page.getByTestId('dms')).toHaveCount(0);
  expect(await apiStatus(zoe.page, `/api/rooms/${dmRoom}/messages`)).toBe(403);
});

test('removal is seen live in the removed user’s browser: the room closes with a notice', async ({ browser }) => {
  const lobby = 'harbour';
  const fritz = await signIn(browser, 'fritz', 'quay');
  const greta = await signIn(browser, 'greta', lobby);
  const gretaId = (await session(greta.page)).user.id;

  // They never met in a room: fritz invites greta by pasting her user id.
  await fritz.page.getByRole('button', { name: 'New private room' }).click();
  const dialog = fritz.page.getByRole('dialog', { name: 'New private room' });
  await dialog.getByLabel('Room name').fill('crew');
  await dialog.getByLabel('Add by user id').fill(gretaId);
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog.getByRole('list', { name: 'Added by id' })).toContainText(gretaId);
  await dialog.getByRole('button', { name: 'Create room' }).click();
  await expect(heading(fritz, 'crew')).toBeVisible();

  await roomLink(greta, 'crew').click();
  await expect(heading(greta, 'crew')).toBeVisible();
  await fritz.say('welcome aboard');
  await expect(greta.messageTexts).toHaveText(['welcome aboard']);

  // Fritz removes her from the members dialog.
  await fritz.page.getByRole('button', { name: 'Members' }).click();
  const members = fritz.page.getByRole('dialog', { name: 'Members of #crew' });
  await expect(members.getByTestId('member')).toHaveCount(2);
  await members.getByRole('button', { name: 'Remove greta from #crew' }).click();
  await expect(members.getByTestId('member')).toHaveCount(1);
  await fritz.page.keyboard.press('Escape');
  await expect(members).toHaveCount(0);
  await expect(fritz.page.getByRole('button', { name: 'Members' })).toBeFocused();

  // Greta, live: the room closes, she is told, and she is back in her other room.
  await expect(greta.page.getByTestId('notice')).toHaveText(/You were removed from #crew/);
  await expect(heading(greta, 'crew')).toHaveCount(0);
  await expect(roomLink(greta, 'crew')).toHaveCount(0);
  await expect(greta.page).toHaveURL(new RegExp(`#/room/${lobby}$`));
  await expect(heading(greta, lobby)).toBeVisible();
  expect(await apiStatus(greta.page, '/api/rooms/crew/messages')).toBe(403);
});
