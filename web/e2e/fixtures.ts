import { fileURLToPath } from 'node:url';
import { test as base, expect, type APIRequestContext, type APIResponse, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from '@playwright/test';
import { startCluster, type Cluster } from '@roomcast/deploy/local';

const webRoot = fileURLToPath(new URL('../dist', import.meta.url));

/**
 * `cluster`: redis + three replicas (n1..n3) + nginx serving web/dist, started
 * once per worker (the config runs one) so that specs hold the replica handles
 * and can kill -9 one. `baseURL` points at nginx.
 */
export const test = base.extend<{ chatUsers: void }, { cluster: Cluster }>({
  cluster: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const cluster = await startCluster({ webRoot, env: { LOG_LEVEL: 'warn' } });
      try {
        await use(cluster);
      } finally {
        await cluster.stop();
      }
    },
    { scope: 'worker', timeout: 60_000 },
  ],
  baseURL: async ({ cluster }, use) => {
    await use(cluster.url);
  },
  // Closes the contexts opened by signIn, and fails the test on any uncaught error in their pages.
  chatUsers: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      pageErrors.length = 0;
      await use();
      await Promise.all(openContexts.splice(0).map((context) => context.close()));
      expect(pageErrors, 'uncaught errors in the pages').toEqual([]);
    },
    { auto: true },
  ],
});

const openContexts: BrowserContext[] = [];
const pageErrors: string[] = [];

export { expect };

/** One person in their own browser context (own sessionStorage, own socket). */
export class ChatUser {
  constructor(
    readonly name: string,
    readonly page: Page,
  ) {}

  get badge(): Locator {
    return this.page.getByTestId('connection');
  }
  get composer(): Locator {
    return this.page.getByRole('textbox', { name: /^Message #/ });
  }
  get messages(): Locator {
    return this.page.getByTestId('messages');
  }
  get messageTexts(): Locator {
    return this.page.getByTestId('message-text');
  }
  get typing(): Locator {
    return this.page.getByTestId('typing');
  }
  presentUser(name: string): Locator {
    return this.page.getByTestId('presence').getByTestId('present-user').filter({ hasText: name });
  }

  /** The replica the badge says we are connected to (waits for a connection). */
  async node(): Promise<string> {
    await expect(this.badge).toHaveAttribute('data-status', 'connected');
    const node = await this.badge.getAttribute('data-node');
    if (!node) throw new Error('connected badge without data-node');
    return node;
  }

  async say(text: string): Promise<void> {
    await this.composer.fill(text);
    await this.composer.press('Enter');
    await expect(this.composer).toHaveValue('');
  }

  /** Reloads until the badge shows a replica other than `node` (nginx least_conn makes this quick). */
  async connectAwayFrom(node: string): Promise<string> {
    for (let attempt = 0; attempt < 15; attempt++) {
      const current = await this.node();
      if (current !== node) return current;
      await this.page.reload();
    }
    throw new Error(`${this.name} kept landing on ${node}`);
  }
}

/** Opens a new context, signs in through the login form and opens `room` from a link. */
export async function signIn(browser: Browser, name: string, room: string, options: BrowserContextOptions = {}): Promise<ChatUser> {
  const context = await browser.newContext(options);
  openContexts.push(context);
  context.on('weberror', (error) => pageErrors.push(`${name}: ${String(error.error())}`));
  const page = await context.newPage();
  await page.goto(`/#/room/${room}`);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Enter' }).click();
  const user = new ChatUser(name, page);
  await expect(page.getByRole('heading', { name: room, exact: true })).toBeVisible();
  await expect(user.badge).toHaveAttribute('data-status', 'connected');
  // Attached, not visible: on a phone the list is in the closed drawer.
  await expect(user.presentUser(name)).toBeAttached();
  return user;
}

/**
 * Posts `count` messages over HTTP, as a backend would, in order. HTTP writes
 * are rate limited per user (bursts of 30) and logins per address, so the
 * messages come from seeders of this call's own, and a refusal is retried
 * after the Retry-After the server gives, as a well-behaved backend does.
 */
let seeders = 0;
export async function seed(request: APIRequestContext, room: string, count: number): Promise<void> {
  const perSeeder = 25;
  const tokens: string[] = [];
  for (let i = 0; i * perSeeder < count; i++) {
    const login = await politely(() => request.post('/api/login', { data: { name: `seeder-${++seeders}` } }));
    expect(login.status()).toBe(200);
    tokens.push(((await login.json()) as { token: string }).token);
  }
  for (let i = 1; i <= count; i++) {
    const response = await politely(() =>
      request.post(`/api/rooms/${room}/messages`, {
        data: { text: `seed message ${i}` },
        headers: { authorization: `Bearer ${tokens[Math.floor((i - 1) / perSeeder)]}` },
      }),
    );
    expect(response.status(), await response.text()).toBe(201);
  }
}

/** Sends again after the server's Retry-After while it answers 429. */
async function politely(send: () => Promise<APIResponse>): Promise<APIResponse> {
  for (;;) {
    const response = await send();
    const retryAfter = response.headers()['retry-after'];
    if (response.status() !== 429 || retryAfter === undefined) return response;
    await new Promise((resolve) => setTimeout(resolve, Number(retryAfter) * 1000));
  }
}
