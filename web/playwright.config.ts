import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests in a real browser against the three-replica cluster
 * (redis + n1..n3 + nginx) started by e2e/fixtures.ts.
 *
 * Browsers cannot be downloaded here: we drive Debian's chromium. Set
 * PLAYWRIGHT_CHROMIUM_PATH to use another build (e.g. Playwright's own).
 */
const executablePath = process.env.PLAYWRIGHT_CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  globalSetup: './e2e/global-setup.ts',
  // One worker: the cluster is per worker, and the specs kill its replicas.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1200, height: 760 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
