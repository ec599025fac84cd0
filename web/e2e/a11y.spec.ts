import type { Locator, Page } from '@playwright/test';
import { axeViolations } from './axe.js';
import { expect, signIn, test } from './fixtures.js';

const phone = { viewport: { width: 375, height: 720 }, isMobile: true, hasTouch: true };

test('axe finds nothing on the login screen, the chat and the phone drawer', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/');
  await expect(page.getByLabel('Your name')).toBeVisible();
  expect(await axeViolations(page)).toEqual([]);
  await context.close();

  const alice = await signIn(browser, 'alice', 'a11y');
  const bob = await signIn(browser, 'bob', 'a11y', phone);
  await alice.say('first');
  await alice.say('second, grouped with the first');
  await bob.say('a reply');
  await expect(alice.messageTexts).toHaveCount(3);
  expect(await axeViolations(alice.page)).toEqual([]);

  await expect(bob.messageTexts).toHaveCount(3);
  expect(await axeViolations(bob.page)).toEqual([]);
  await bob.page.getByRole('button', { name: 'Rooms and people' }).click();
  await expect(bob.page.getByRole('dialog', { name: 'Rooms and people' })).toBeVisible();
  expect(await axeViolations(bob.page)).toEqual([]);
});

/** The message item (list item) holding `text`. */
const item = (page: Page, text: string): Locator => page.getByTestId('message').filter({ hasText: text });

test('a grouped message says who wrote it and when; its time shows on keyboard focus and on touch screens', async ({ browser }) => {
  const alice = await signIn(browser, 'alice', 'grouped');
  await alice.say('one');
  await alice.say('two, same author, same minute');
  const grouped = item(alice.page, 'two, same author');
  await expect(grouped).toHaveClass(/grouped/);
  // What a screen reader gets: the author and the time, not just the text.
  const clock = await grouped.locator('time').textContent();
  await expect(grouped).toMatchAriaSnapshot(`
    - listitem:
      - text: alice
      - time: ${clock}
      - paragraph: two, same author, same minute
  `);

  // Hidden until looked at with a pointer...
  const time = grouped.locator('time');
  await alice.page.mouse.move(0, 0);
  await expect(time).toHaveCSS('opacity', '0');
  // ...or reached with the keyboard: the arrow keys move between messages.
  await alice.messages.focus();
  await alice.page.keyboard.press('ArrowUp');
  await expect(grouped).toBeFocused();
  await expect(time).toHaveCSS('opacity', '1');
  await alice.page.keyboard.press('ArrowUp');
  await expect(item(alice.page, 'one')).toBeFocused();

  // On a touch screen there is no hover: the times are always shown.
  const bob = await signIn(browser, 'bob', 'grouped', phone);
  await expect(item(bob.page, 'two, same author').locator('time')).toHaveCSS('opacity', '1');
  // The page's heading keeps its name at phone width.
  await expect(bob.page.getByRole('heading', { level: 1 })).toHaveAccessibleName('Roomcast');
});

test('the phone drawer is a dialog: it takes the focus, closes on Escape, and gives the focus back', async ({ browser }) => {
  const alice = await signIn(browser, 'alice', 'drawer', phone);
  const toggle = alice.page.getByRole('button', { name: 'Rooms and people' });
  await toggle.focus();
  await alice.page.keyboard.press('Enter');
  const drawer = alice.page.getByRole('dialog', { name: 'Rooms and people' });
  await expect(drawer).toBeVisible();
  await expect(drawer.getByRole('link', { name: 'drawer' })).toBeFocused();
  // The rest of the page is out of reach while it is open.
  await expect(alice.composer).not.toBeFocused();
  expect(await alice.page.evaluate(() => document.querySelector('main')?.inert)).toBe(true);

  await alice.page.keyboard.press('Escape');
  await expect(drawer).toHaveCount(0);
  await expect(toggle).toBeFocused();

  // The close button does the same.
  await alice.page.keyboard.press('Enter');
  await drawer.getByRole('button', { name: 'Close rooms and people' }).click();
  await expect(drawer).toHaveCount(0);
  await expect(toggle).toBeFocused();
});

test('the keyboard alone: sign in, write, read back, change rooms, sign out', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/#/room/keys');
  await expect(page.getByLabel('Your name')).toBeFocused();
  await page.keyboard.type('keyboard-only');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'keys', exact: true })).toBeVisible();

  const composer = page.getByRole('textbox', { name: 'Message #keys' });
  await tabTo(page, composer);
  await page.keyboard.type('typed, never clicked');
  await page.keyboard.press('Enter');
  await expect(item(page, 'typed, never clicked')).toHaveAttribute('data-status', 'sent');

  await tabTo(page, page.getByTestId('messages'));
  await page.keyboard.press('ArrowUp');
  await expect(item(page, 'typed, never clicked')).toBeFocused();

  await tabTo(page, page.getByLabel('Join a room'));
  await page.keyboard.type('elsewhere');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'elsewhere', exact: true })).toBeVisible();

  await tabTo(page, page.getByRole('button', { name: 'Log out' }));
  await page.keyboard.press('Enter');
  await expect(page.getByLabel('Your name')).toBeVisible();
  await context.close();
});

/** Presses Tab until `target` has the focus (it must be reachable within a page's worth of stops). */
async function tabTo(page: Page, target: Locator): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if (await target.evaluate((element) => element === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  await expect(target).toBeFocused();
}
