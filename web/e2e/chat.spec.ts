import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestInfo } from '@playwright/test';
import { expect, seed, signIn, test, type ChatUser } from './fixtures.js';

const docsScreenshot = fileURLToPath(new URL('../../docs/screenshot.png', import.meta.url));

/** Two people in `room`, on two different replicas (as their badges say). */
async function pairOnTwoReplicas(browser: Parameters<typeof signIn>[0], room: string): Promise<[ChatUser, ChatUser]> {
  const alice = await signIn(browser, 'alice', room);
  const bob = await signIn(browser, 'bob', room);
  const aliceNode = await alice.node();
  const bobNode = await bob.connectAwayFrom(aliceNode);
  expect(bobNode).not.toBe(aliceNode);
  // Bob may have reloaded: wait until both see each other again.
  await expect(alice.presentUser('bob')).toBeAttached();
  await expect(bob.presentUser('alice')).toBeAttached();
  return [alice, bob];
}

async function ids(user: ChatUser): Promise<string[]> {
  return user.messages.locator('[data-testid="message"][data-id]').evaluateAll((items) => items.map((item) => item.getAttribute('data-id') ?? ''));
}

test('two users on different replicas chat, and see presence and typing', async ({ browser }, testInfo) => {
  const room = 'design-review';
  const [alice, bob] = await pairOnTwoReplicas(browser, room);

  const conversation: Array<[ChatUser, string]> = [
    [alice, 'Morning Bob! Is the deploy to the new replicas done?'],
    [bob, 'Yes: n1, n2 and n3 are all up behind nginx.'],
    [alice, 'Great. Can you share the latency numbers?\nA rough p99 is enough.'],
    [bob, 'p99 stayed under 10 ms at 500 msgs/s, zero loss.'],
    [alice, 'Perfect, thanks!'],
  ];
  for (const [user, text] of conversation) await user.say(text);
  const expected = conversation.map(([, text]) => text);
  await expect(alice.messageTexts).toHaveText(expected);
  await expect(bob.messageTexts).toHaveText(expected);
  await expect(alice.messages.locator('[data-status="pending"]')).toHaveCount(0);
  expect(await ids(alice)).toEqual(await ids(bob));
  await expect(alice.presentUser('bob')).toBeVisible();
  await expect(bob.presentUser('alice')).toBeVisible();

  // Typing: the indicator shows on the other side (signals go at most every 3 s: bob types at a human pace)...
  await bob.composer.pressSequentially('Any time, really', { delay: 250 });
  await expect(alice.typing).toHaveText('bob is typing…');
  await saveScreenshot(alice, testInfo, 'chat.png', docsScreenshot);
  // ...and clears by itself once the signals stop.
  await expect(alice.typing).toHaveText('');

  // Presence diffs: bob moves to another room and leaves this one; alice sees him go.
  await bob.page.getByLabel('Join a room').fill('random');
  await bob.page.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(bob.page.getByRole('heading', { name: 'random', exact: true })).toBeVisible();
  await bob.page.getByRole('button', { name: `Leave ${room}` }).click();
  await expect(alice.presentUser('bob')).toHaveCount(0);
});

/** Saves a screenshot as a test artifact; copies it to the README's image when asked (or when there is none). */
async function saveScreenshot(user: ChatUser, testInfo: TestInfo, name: string, docsCopy?: string): Promise<void> {
  const file = testInfo.outputPath(name);
  await user.page.mouse.move(0, 0); // no hover highlight in the picture
  await user.page.screenshot({ path: file });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
  if (docsCopy && (!existsSync(docsCopy) || process.env.ROOMCAST_UPDATE_SCREENSHOT === '1')) {
    mkdirSync(path.dirname(docsCopy), { recursive: true });
    copyFileSync(file, docsCopy);
  }
}

test('kill -9 of a replica: the page reconnects elsewhere and misses nothing', async ({ browser, cluster }) => {
  const room = 'failover';
  const [alice, bob] = await pairOnTwoReplicas(browser, room);
  await alice.say('before the crash');
  await expect(bob.messageTexts).toHaveText(['before the crash']);

  // Every state the badge goes through, recorded in the page (the reconnect may be quicker than a poll).
  await bob.page.evaluate(() => {
    const badge = document.querySelector('[data-testid="connection"]')!;
    const seen: string[] = [];
    (window as unknown as { badgeStates: string[] }).badgeStates = seen;
    new MutationObserver(() => seen.push(`${badge.getAttribute('data-status')}:${badge.getAttribute('data-node') ?? ''}`)).observe(badge, {
      attributes: true,
      attributeFilter: ['data-status', 'data-node'],
    });
  });

  const bobNode = await bob.node();
  const victim = cluster.replicas.find((replica) => replica.nodeId === bobNode);
  if (!victim) throw new Error(`no replica named ${bobNode}`);
  await victim.kill('SIGKILL');

  try {
    // Alice (on a surviving replica) keeps talking while bob is cut off.
    const during = Array.from({ length: 6 }, (_, i) => `while bob reconnects ${i + 1}`);
    for (const text of during) await alice.say(text);

    const newNode = await bob.node();
    expect(newNode).not.toBe(bobNode);
    const states = await bob.page.evaluate(() => (window as unknown as { badgeStates: string[] }).badgeStates);
    expect(states.some((state) => state.startsWith('reconnecting:'))).toBe(true);
    expect(states.at(-1)).toBe(`connected:${newNode}`);
    await expect(bob.badge).toHaveText('Online');
    // The replica is a detail, one click away.
    await bob.badge.click();
    await expect(bob.page.getByTestId('connection-details')).toHaveText(new RegExp(`^Connected to replica ${newNode} `));

    await bob.say('back, on another replica');
    await alice.say('welcome back');
    const all = ['before the crash', ...during, 'back, on another replica', 'welcome back'];
    // Exactly once each, in order, on both sides, with the same ids.
    await expect(bob.messageTexts).toHaveText(all);
    await expect(alice.messageTexts).toHaveText(all);
    expect(await ids(bob)).toEqual(await ids(alice));
  } finally {
    await victim.start();
  }
});

test('offline: the badge says so, and a message written meanwhile is sent on return', async ({ browser }) => {
  const room = 'offline';
  const alice = await signIn(browser, 'alice', room);
  const bob = await signIn(browser, 'bob', room);
  await expect(alice.presentUser('bob')).toBeVisible();

  await bob.page.context().setOffline(true);
  await expect(bob.badge).toHaveText('Offline');
  await bob.say('written on the train');
  const pending = bob.messages.locator('[data-testid="message"][data-status="pending"]');
  await expect(pending).toHaveText(/written on the train/);
  await expect(pending.getByTestId('send-status')).toHaveText('Unsent');
  await expect(bob.page.getByTestId('connection-banner')).toContainText('You are offline.');
  await expect(bob.page.getByTestId('unsent-count')).toHaveText('1 unsent message.');
  await alice.say('did you get this?');

  await bob.page.context().setOffline(false);
  await expect(bob.badge).toHaveText('Online');
  await expect(pending).toHaveCount(0);
  const both = ['did you get this?', 'written on the train'];
  await expect(bob.messageTexts).toHaveText(both);
  await expect(alice.messageTexts).toHaveText(both);
});

test('text is rendered as text, long words wrap on a phone, the keyboard is enough', async ({ browser }, testInfo) => {
  const room = 'escaping';
  const dialogs: string[] = [];
  const phone = { viewport: { width: 375, height: 720 }, isMobile: true, hasTouch: true };
  const alice = await signIn(browser, 'alice', room, phone);
  alice.page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });

  const attack = '<img src=x onerror=alert(1)>';
  const long = `${'a'.repeat(600)} and ${'https://example.com/'.repeat(20)}`;
  await alice.say(attack);
  await alice.say(long);

  // Keyboard alone: Shift+Enter starts a new line, Enter sends.
  await alice.composer.focus();
  await alice.page.keyboard.type('first line');
  await alice.page.keyboard.press('Shift+Enter');
  await alice.page.keyboard.type('second line');
  await alice.page.keyboard.press('Enter');

  await expect(alice.messageTexts).toHaveText([attack, long, 'first line\nsecond line']);
  await expect(alice.messages.locator('img')).toHaveCount(0);
  // The list does not scroll sideways: the long words wrapped.
  const overflow = await alice.messages.evaluate((element) => element.scrollWidth - element.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  // The composer is usable at phone width.
  await expect(alice.composer).toBeInViewport();
  expect(dialogs).toEqual([]);
  await saveScreenshot(alice, testInfo, 'chat-phone.png');
});

test('scrolling up loads older history page by page, without duplicates, keeping the reader’s place to the pixel', async ({ browser, request }) => {
  const room = 'history';
  const total = 130;
  await seed(request, room, total);
  const expected = Array.from({ length: total }, (_, i) => `seed message ${i + 1}`);

  const alice = await signIn(browser, 'alice', room);
  // The join replays the newest 50.
  await expect(alice.messageTexts).toHaveCount(50);
  await expect(alice.messageTexts.last()).toHaveText(expected.at(-1)!);

  let shown = 50;
  while (shown < total) {
    // Scroll to the top, and note the reader's place there: the oldest message shown, where its text is in the view.
    const before = await alice.messages.evaluate((element) => {
      element.scrollTo({ top: 0 });
      const text = element.querySelector('[data-testid="message-text"]')!;
      return { text: text.textContent!, top: text.getBoundingClientRect().top - element.getBoundingClientRect().top };
    });
    await expect.poll(() => alice.messageTexts.count()).toBeGreaterThan(shown);
    shown = await alice.messageTexts.count();
    // Older messages came in above it: the text the reader was looking at has not moved.
    const after = await textTop(alice, before.text);
    expect(Math.abs(after - before.top)).toBeLessThanOrEqual(1);
  }
  await expect(alice.page.getByText(`This is the beginning of #${room}.`)).toBeVisible();
  await expect(alice.messageTexts).toHaveText(expected);
  const seen = await ids(alice);
  expect(new Set(seen).size).toBe(total);
});

test('a long room keeps a window of messages in the page: all of history is reachable both ways, in order, the place kept', async ({ browser, request }) => {
  const room = 'long-history';
  const total = 700;
  await seed(request, room, total);
  const alice = await signIn(browser, 'alice', room);
  await expect(alice.messageTexts.last()).toHaveText(`seed message ${total}`);
  const numbers = async () => (await alice.messageTexts.allTextContents()).map((text) => Number(text.replace('seed message ', '')));

  // Up to the beginning: pages from the server, then the window moves; never more than a few hundred in the page.
  let most = 0;
  for (;;) {
    const before = await alice.messages.evaluate((element) => {
      element.scrollTo({ top: 0 });
      const text = element.querySelector('[data-testid="message-text"]')!;
      return { text: text.textContent!, top: text.getBoundingClientRect().top - element.getBoundingClientRect().top };
    });
    if (before.text === 'seed message 1') break;
    await expect(alice.messageTexts.first()).not.toHaveText(before.text);
    expect(Math.abs((await textTop(alice, before.text)) - before.top)).toBeLessThanOrEqual(1);
    const shown = await numbers();
    most = Math.max(most, shown.length);
    // Consecutive, in order: no gap and no duplicate inside the window.
    expect(shown).toEqual(Array.from({ length: shown.length }, (_, i) => shown[0]! + i));
  }
  await expect(alice.page.getByText(`This is the beginning of #${room}.`)).toBeVisible();
  expect(most).toBeLessThanOrEqual(400);
  expect(most).toBeGreaterThanOrEqual(300);

  // And back down to the newest, from memory.
  for (;;) {
    const last = await alice.messages.evaluate((element) => {
      element.scrollTo({ top: element.scrollHeight });
      return element.querySelectorAll('[data-testid="message-text"]').item(element.querySelectorAll('[data-testid="message-text"]').length - 1).textContent;
    });
    if (last === `seed message ${total}`) break;
    await expect(alice.messageTexts.last()).not.toHaveText(last!);
    const shown = await numbers();
    expect(shown.length).toBeLessThanOrEqual(400);
    expect(shown).toEqual(Array.from({ length: shown.length }, (_, i) => shown[0]! + i));
  }
  // At the newest again, live messages show.
  await alice.say('back at the bottom');
  await expect(alice.messageTexts.last()).toHaveText('back at the bottom');
});

test('unread counts for rooms in the background, and a link opens a room', async ({ browser }) => {
  const quiet = 'quiet';
  const busy = 'busy';
  const alice = await signIn(browser, 'alice', busy);
  const bob = await signIn(browser, 'bob', busy);
  // Bob follows a link to another room: busy stays joined, in the background.
  await bob.page.goto(`/#/room/${quiet}`);
  await expect(bob.page.getByRole('heading', { name: quiet, exact: true })).toBeVisible();

  await alice.say('one');
  await alice.say('two');
  const busyLink = bob.page.getByRole('link', { name: busy });
  await expect(busyLink.getByTestId('unread')).toHaveText('2');
  await busyLink.click();
  await expect(bob.messageTexts).toHaveText(['one', 'two']);
  await expect(busyLink.getByTestId('unread')).toHaveCount(0);
  await expect(bob.page).toHaveURL(new RegExp(`#/room/${busy}$`));
});

/** Where the text of the message reading `text` is, from the top of the message list's view (px). */
function textTop(user: ChatUser, text: string): Promise<number> {
  return user.messages.evaluate((element, wanted) => {
    const node = Array.from(element.querySelectorAll('[data-testid="message-text"]')).find((n) => n.textContent === wanted)!;
    return node.getBoundingClientRect().top - element.getBoundingClientRect().top;
  }, text);
}
