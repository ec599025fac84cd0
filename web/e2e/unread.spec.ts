import type { Page } from '@playwright/test';
import { expect, seed, signIn, test } from './fixtures.js';

/**
 * Puts the page in the background or brings it back, as the browser does when
 * the user switches tabs: `document.visibilityState` changes and
 * `visibilitychange` fires. (A headless browser never hides a page by itself.)
 */
async function setVisible(page: Page, visible: boolean): Promise<void> {
  await page.evaluate((shown) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (shown ? 'visible' : 'hidden') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => !shown });
    document.dispatchEvent(new Event('visibilitychange'));
  }, visible);
}

test('a hidden tab counts what arrives in its open room: title, icon, bold room, and a divider when it is back', async ({ browser }) => {
  const room = 'watercooler';
  const alice = await signIn(browser, 'alice', room);
  const bob = await signIn(browser, 'bob', room);
  await alice.say('seen by bob');
  await expect(bob.messageTexts).toHaveText(['seen by bob']);
  await expect(bob.page).toHaveTitle('Roomcast');

  await setVisible(bob.page, false);
  await alice.say('while you were away');
  await alice.say('and another');
  await expect(bob.page).toHaveTitle('(2) Roomcast');
  await expect(bob.page.locator('link[rel="icon"]')).toHaveAttribute('data-unread', '2');
  const link = bob.page.getByTestId('rooms').getByRole('listitem').filter({ hasText: room });
  await expect(link).toHaveClass(/has-unread/);
  await expect(link.getByTestId('unread')).toHaveText('2');
  await expect(link.getByRole('link')).toHaveCSS('font-weight', '700');

  await setVisible(bob.page, true);
  await expect(bob.page).toHaveTitle('Roomcast');
  await expect(bob.page.locator('link[rel="icon"]')).toHaveAttribute('data-unread', '0');
  await expect(link.getByTestId('unread')).toHaveCount(0);
  // The divider sits right before the first message bob had not seen.
  const items = bob.messages.locator('li');
  await expect(items.filter({ hasText: 'New messages' })).toHaveCount(1);
  const order = await items.evaluateAll((lis) => lis.map((li) => li.textContent ?? ''));
  const divider = order.findIndex((text) => text === 'New messages');
  expect(order[divider + 1]).toContain('while you were away');

  // Read now: what comes while he looks is not unread.
  await alice.say('live');
  await expect(bob.messageTexts.last()).toHaveText('live');
  await expect(bob.page).toHaveTitle('Roomcast');
});

test('scrolled up in history, new messages wait behind a "↓ N new" button, and are read once the reader is back down', async ({ browser, request }) => {
  const room = 'long-read';
  await seed(request, room, 60);
  const alice = await signIn(browser, 'alice', room);
  const bob = await signIn(browser, 'bob', room);
  await expect(bob.messageTexts.last()).toHaveText('seed message 60');

  // Bob scrolls up to read (not to the very top: that would page in more history).
  await bob.messages.evaluate((element) => element.scrollTo({ top: element.scrollHeight / 3 }));
  const jump = bob.page.getByTestId('jump-to-new');
  await alice.say('news from the bottom');
  await alice.say('more news');
  await expect(jump).toHaveText('↓ 2 new');
  await expect(bob.page).toHaveTitle('(2) Roomcast');
  const scrolled = await bob.messages.evaluate((element) => element.scrollTop);

  await jump.click();
  await expect(jump).toHaveCount(0);
  await expect(bob.page).toHaveTitle('Roomcast');
  await expect(bob.messageTexts.last()).toBeInViewport();
  expect(await bob.messages.evaluate((element) => element.scrollTop)).toBeGreaterThan(scrolled);
});
