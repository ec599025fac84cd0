import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { freePort, startCluster, type Cluster } from '@roomcast/deploy/local';
import { expect, test } from './fixtures.js';
import { CLIENT_ID, startProvider, type TestProvider } from './oidc-provider.js';

const webRoot = fileURLToPath(new URL('../dist', import.meta.url));

/**
 * The production default: no guest login. The cluster trusts ID tokens of a
 * local OpenID Connect provider (its JWKS, issuer and our client id as
 * audience), and the web client signs in through it.
 */
let provider: TestProvider;
let cluster: Cluster;

test.beforeAll(async () => {
  const port = await freePort();
  const appOrigin = `http://127.0.0.1:${port}`;
  provider = await startProvider(appOrigin);
  cluster = await startCluster({
    webRoot,
    port,
    env: {
      LOG_LEVEL: 'warn',
      GUEST_LOGIN: 'false',
      AUTH_JWKS_URL: provider.jwksUri,
      AUTH_ISSUER: provider.issuer,
      AUTH_AUDIENCE: CLIENT_ID,
      OIDC_CLIENT_ID: CLIENT_ID,
    },
  });
  expect(cluster.url).toBe(appOrigin);
});

test.afterAll(async () => {
  await cluster?.stop();
  await provider?.stop();
});

interface Visit {
  page: Page;
  context: BrowserContext;
  /** Every URL the page asked for, sockets included. */
  urls: string[];
  errors: string[];
}

/** A fresh browser that may talk to this machine only (the provider's dev pages link a web font). */
async function visit(browser: Browser, path: string): Promise<Visit> {
  const context = await browser.newContext({ baseURL: cluster.url });
  await context.route(/^(?!http:\/\/127\.0\.0\.1[:/])/, (route) => route.abort());
  const page = await context.newPage();
  const urls: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('websocket', (socket) => urls.push(socket.url()));
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(path);
  return { page, context, urls, errors };
}

/** From the app's sign-in screen through the provider's login and consent forms, back to the app. */
async function signInWithProvider(page: Page, login: string): Promise<void> {
  const host = new URL(provider.issuer).host;
  await page.getByRole('button', { name: `Sign in with ${host}` }).click();
  await expect(page).toHaveURL(new RegExp(`^${provider.issuer}/interaction/`));
  await page.getByPlaceholder('Enter any login').fill(login);
  await page.getByPlaceholder('and password').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

const session = (page: Page) => page.evaluate(() => JSON.parse(sessionStorage.getItem('roomcast.session') ?? 'null') as { token: string; user: { id: string; name: string } } | null);

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

test('with guest login off, people sign in through the OpenID Connect provider (code + PKCE) and chat', async ({ browser, request }) => {
  const ada = await visit(browser, '/#/room/observatory');

  // Only the provider is offered; the guest login is closed on the server too.
  await expect(ada.page.getByRole('button', { name: /^Sign in with 127\.0\.0\.1:\d+$/ })).toBeVisible();
  await expect(ada.page.getByLabel('Your name')).toHaveCount(0);
  const guest = await request.post(`${cluster.url}/api/login`, { data: { name: 'mallory' } });
  expect(guest.ok()).toBe(false);

  await signInWithProvider(ada.page, 'ada');

  // Back in the app, in the room the link named, as the provider's user; the code is gone from the address.
  await expect(ada.page.getByRole('heading', { name: 'observatory', exact: true })).toBeVisible();
  await expect(ada.page).toHaveURL(`${cluster.url}/#/room/observatory`);
  await expect(ada.page.getByTestId('connection')).toHaveAttribute('data-status', 'connected');
  await expect(ada.page.getByTitle('Signed in as')).toHaveText('Ada Lovelace');

  // The bearer token is the provider's ID token for our client; the PKCE verifier was used up.
  const saved = await session(ada.page);
  expect(saved?.user).toEqual({ id: 'ada', name: 'Ada Lovelace' });
  expect(claimsOf(saved!.token)).toMatchObject({ iss: provider.issuer, aud: CLIENT_ID, sub: 'ada', name: 'Ada Lovelace' });
  expect(await ada.page.evaluate(() => sessionStorage.getItem('roomcast.oidc.pending'))).toBeNull();

  // The replicas accept it on the socket and over HTTP.
  const composer = ada.page.getByRole('textbox', { name: 'Message #observatory' });
  await composer.fill('signed in by the provider');
  await composer.press('Enter');
  await expect(ada.page.getByTestId('message-text')).toHaveText(['signed in by the provider']);
  await expect(ada.page.getByTestId('messages').locator('[data-status="pending"]')).toHaveCount(0);
  const history = await request.get(`${cluster.url}/api/rooms/observatory/messages`, { headers: { authorization: `Bearer ${saved!.token}` } });
  expect(history.status()).toBe(200);
  expect(((await history.json()) as { messages: Array<{ user: { name: string } }> }).messages.map((m) => m.user.name)).toEqual(['Ada Lovelace']);

  // No URL the page asked for carried the token (the socket offers it as a subprotocol).
  expect(ada.urls.filter((url) => url.includes(saved!.token))).toEqual([]);
  expect(ada.urls.filter((url) => url.startsWith('ws:'))).toEqual([`ws://127.0.0.1:${new URL(cluster.url).port}/ws`]);
  expect(ada.errors).toEqual([]);
  await ada.context.close();
});

test('when the ID token expires, the app asks to sign in again', async ({ browser }) => {
  // Long enough to get in and connect on a slow machine, short enough to wait for.
  provider.idTokenTtl = 10;
  try {
    const ada = await visit(browser, '/#/room/observatory');
    await signInWithProvider(ada.page, 'ada');
    await expect(ada.page.getByTestId('connection')).toHaveAttribute('data-status', 'connected');

    // The replica closes the socket once the token expires (1008); the app goes back to the sign-in screen.
    await expect(ada.page.getByRole('alert')).toHaveText('Your session expired. Please sign in again.', { timeout: 30_000 });
    await expect(ada.page.getByRole('button', { name: /^Sign in with / })).toBeVisible();
    expect(await session(ada.page)).toBeNull();
    expect(ada.errors).toEqual([]);
    await ada.context.close();
  } finally {
    provider.idTokenTtl = 3600;
  }
});
