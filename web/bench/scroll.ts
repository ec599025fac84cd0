/**
 * Scroll benchmark: a room with 10,000 messages, paged into the web client
 * the way a reader gets them (scrolling to the top, 50 at a time), then
 * scrolled through from top to bottom while the page measures every frame.
 *
 *   npm run build && npm run bench:scroll -w web          (or: npx tsx web/bench/scroll.ts)
 *
 * Options (environment): MESSAGES (10000), STEP_PX (scroll per frame, 120),
 * WEB_ROOT (the built client to serve, default web/dist: point it at another
 * build to compare), PLAYWRIGHT_CHROMIUM_PATH (/usr/bin/chromium).
 *
 * It starts its own cluster (redis + 3 replicas + nginx serving web/dist)
 * with the HTTP write limit raised, seeds the room over HTTP from a few
 * authors, and prints frame-time percentiles (rAF to rAF, the page's own
 * clock), long animation frames (Performance API) and what paging in cost.
 * A benchmark, not a test: it asserts nothing, it reports.
 */
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from '@playwright/test';
import { startCluster } from '@roomcast/deploy/local';

const MESSAGES = Number(process.env.MESSAGES ?? 10_000);
const STEP_PX = Number(process.env.STEP_PX ?? 120);
const ROOM = 'scroll-bench';
const AUTHORS = ['ada', 'brian', 'chen', 'dana', 'emeka', 'farah', 'goran'];
const WORDS = 'the replica drained its sockets before nginx moved them and every message kept its place in the log while we watched the graphs'.split(' ');

const webRoot = process.env.WEB_ROOT ?? fileURLToPath(new URL('../dist', import.meta.url));

function text(i: number): string {
  // Mostly one line, some long enough to wrap: a chat, not a column of equal rows.
  const length = 3 + ((i * 7919) % 37) + (i % 23 === 0 ? 60 : 0);
  const words = Array.from({ length }, (_, k) => WORDS[(i * 31 + k * 7) % WORDS.length]);
  return `#${i + 1} ${words.join(' ')}`;
}

async function seed(url: string): Promise<void> {
  const tokens: string[] = [];
  for (const name of AUTHORS) {
    const login = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
    tokens.push(((await login.json()) as { token: string }).token);
  }
  // Runs of 1-6 messages per author, so grouping varies as in a real room.
  let next = 0;
  const post = async (i: number) => {
    const author = Math.floor(i / (1 + (i % 6))) % AUTHORS.length;
    const response = await fetch(`${url}/api/rooms/${ROOM}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[author]}` },
      body: JSON.stringify({ text: text(i) }),
    });
    if (response.status !== 201) throw new Error(`seeding: HTTP ${response.status} ${await response.text()}`);
  };
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < MESSAGES) await post(next++);
    }),
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(1);
  return `p50 ${f(percentile(sorted, 50))} ms, p95 ${f(percentile(sorted, 95))} ms, p99 ${f(percentile(sorted, 99))} ms, max ${f(sorted.at(-1)!)} ms`;
}

/**
 * Scrolls to the top until the client says it reached the beginning of the
 * room: each step shows older messages (a page from the server, or the
 * window moving up over messages already loaded). Returns each step's cost,
 * from the scroll to the new messages laid out and painted.
 */
async function pageIn(page: Page): Promise<Array<{ oldest: number; ms: number }>> {
  const costs: Array<{ oldest: number; ms: number }> = [];
  for (;;) {
    const result = await page.evaluate(async () => {
      const list = document.querySelector<HTMLElement>('[data-testid="messages"]')!;
      const first = () => list.querySelector('[data-testid="message-text"]')?.textContent ?? '';
      const atBeginning = () => list.textContent?.includes('This is the beginning of') ?? false;
      const before = first();
      if (atBeginning()) return { done: true, stalled: null, oldest: before, ms: 0 };
      const start = performance.now();
      list.scrollTop = 0;
      // Until older messages are in the DOM (or the list says there are none); 10 s at most.
      const arrived = await new Promise<boolean>((resolve) => {
        const observer = new MutationObserver(() => {
          if (first() !== before || atBeginning()) {
            observer.disconnect();
            clearTimeout(timer);
            resolve(true);
          }
        });
        const timer = setTimeout(() => {
          observer.disconnect();
          resolve(false);
        }, 10_000);
        observer.observe(list, { childList: true, subtree: true, characterData: true });
      });
      if (!arrived) {
        const edge = list.querySelector('.history-edge')?.textContent;
        return { done: false, stalled: `no older messages after 10 s: scrollTop ${list.scrollTop}, top of the list says "${edge}", first "${before.slice(0, 10)}"`, oldest: before, ms: 0 };
      }
      // And until they have been laid out and painted.
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      return { done: false, stalled: null, oldest: first(), ms: performance.now() - start };
    });
    if (result.done) return costs;
    if (result.stalled) throw new Error(result.stalled);
    costs.push({ oldest: Number(/^#(\d+)/.exec(result.oldest)?.[1] ?? 0), ms: result.ms });
  }
}

/**
 * Scrolls from the top to the bottom, `step` px per animation frame, as fast
 * as the frames come; returns every frame's duration and the total distance.
 */
async function scrollThrough(page: Page, step: number): Promise<{ frames: number[]; longFrames: number[]; height: number; stalled: string | null; breakdowns: string[] }> {
  return page.evaluate(async (px) => {
    const list = document.querySelector<HTMLElement>('[data-testid="messages"]')!;
    list.scrollTop = 0;
    // Let the jump to the top settle (and its scroll handler run) before measuring.
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    const longFrames: number[] = [];
    const breakdowns: string[] = [];
    const observer = new PerformanceObserver((entries) => {
      for (const entry of entries.getEntries()) {
        longFrames.push(entry.duration);
        // Where a long frame went: scripts, then style and layout, then the rest (paint, raster wait).
        const loaf = entry as PerformanceEntry & { renderStart: number; styleAndLayoutStart: number; scripts?: Array<{ duration: number; invoker?: string }> };
        const script = (loaf.scripts ?? []).reduce((sum, s) => sum + s.duration, 0);
        const layout = loaf.styleAndLayoutStart > 0 ? entry.startTime + entry.duration - loaf.styleAndLayoutStart : 0;
        breakdowns.push(`${entry.duration.toFixed(0)} ms = scripts ${script.toFixed(0)} (${(loaf.scripts ?? []).map((s) => s.invoker).join(', ')}), style+layout+paint ${layout.toFixed(0)}`);
      }
    });
    try {
      observer.observe({ type: 'long-animation-frame', buffered: false });
    } catch {
      // Older browsers: no LoAF API; frame durations still tell.
    }
    const frames: number[] = [];
    let distance = 0;
    let stuck = 0;
    let stalled: string | null = null;
    await new Promise<void>((resolve) => {
      let last = performance.now();
      const frame = (now: number) => {
        frames.push(now - last);
        last = now;
        // The end: the bottom of the list, with nothing later to show (the window has reached the newest).
        if (list.scrollTop + list.clientHeight >= list.scrollHeight - 1 && !list.querySelector('[data-testid="show-later"]')) return resolve();
        const before = list.scrollTop;
        list.scrollTop += px;
        distance += Math.max(0, list.scrollTop - before);
        stuck = list.scrollTop === before ? stuck + 1 : 0;
        if (stuck > 120) {
          const texts = list.querySelectorAll('[data-testid="message-text"]');
          stalled = `stalled at scrollTop ${list.scrollTop} of ${list.scrollHeight} (view ${list.clientHeight}); shown ${texts[0]?.textContent?.slice(0, 8)} .. ${texts[texts.length - 1]?.textContent?.slice(0, 8)}`;
          return resolve();
        }
        requestAnimationFrame(frame);
      };
      requestAnimationFrame((now) => {
        last = now;
        list.scrollTop += px;
        distance += list.scrollTop;
        requestAnimationFrame(frame);
      });
    });
    observer.disconnect();
    return { frames, longFrames, height: distance, stalled, breakdowns: breakdowns.sort((a, b) => parseInt(b) - parseInt(a)).slice(0, 3) };
  }, step);
}

async function main(): Promise<void> {
  const started = Date.now();
  const cluster = await startCluster({
    webRoot,
    env: { LOG_LEVEL: 'warn', HISTORY_MAX_LEN: String(MESSAGES + 1000), RATE_HTTP_WRITES_PER_SEC: '100000', RATE_HTTP_WRITES_BURST: '100000' },
  });
  const browser = await chromium.launch({
    executablePath: process.env.PLAYWRIGHT_CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    await seed(cluster.url);
    console.log(`seeded ${MESSAGES} messages in ${((Date.now() - started) / 1000).toFixed(1)} s (cluster start included)`);

    const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
    // tsx keeps function names with a helper that the page does not have: give it one.
    await page.addInitScript('globalThis.__name = (f) => f;');
    await page.goto(`${cluster.url}/#/room/${ROOM}`);
    await page.getByLabel('Your name').fill('reader');
    await page.getByRole('button', { name: 'Enter' }).click();
    await page.getByTestId('connection').and(page.locator('[data-status="connected"]')).waitFor();
    await page.getByTestId('message').nth(49).waitFor();

    const paging = Date.now();
    const costs = await pageIn(page);
    console.log(`scrolled up to the beginning in ${costs.length} steps, ${((Date.now() - paging) / 1000).toFixed(1)} s; messages in the DOM now: ${await page.getByTestId('message').count()}`);
    // Steps that took the reader from message n back (the room is numbered #1..#MESSAGES, newest last).
    for (const [label, low, high] of [
      ['first 1,000 back', MESSAGES - 1000, MESSAGES],
      ['around 5,000 back', MESSAGES - 5500, MESSAGES - 4500],
      ['the last 1,000 (oldest)', 0, 1000],
    ] as const) {
      const near = costs.filter((c) => c.oldest > low && c.oldest <= high).map((c) => c.ms);
      if (near.length > 0) console.log(`  one step up, ${label} (${near.length} steps): ${summary(near)}`);
    }

    const nodes = await page.evaluate(() => document.getElementsByTagName('*').length);
    for (const step of [STEP_PX, STEP_PX * 3]) {
      if (step !== STEP_PX) await pageIn(page); // back to the beginning (from memory now)
      const { frames, longFrames, height, stalled, breakdowns } = await scrollThrough(page, step);
      if (stalled) console.log(`  ${stalled}`);
      const over = (ms: number) => frames.filter((f) => f > ms).length;
      console.log(`scrolled through ${height} px at ${step} px/frame: ${frames.length} frames; frame time ${summary(frames)}`);
      console.log(`  dropped frames (over 25 ms): ${over(25)} (${((100 * over(25)) / frames.length).toFixed(1)} %), over 50 ms: ${over(50)}, over 100 ms: ${over(100)}; long animation frames (> 50 ms): ${longFrames.length}`);
      for (const line of breakdowns) console.log(`    long frame: ${line}`);
    }
    console.log(`DOM elements: ${nodes}; chromium ${browser.version()}`);
  } finally {
    await browser.close();
    await cluster.stop();
  }
}

await main();
