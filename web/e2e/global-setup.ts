import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const webDir = fileURLToPath(new URL('..', import.meta.url));
const repoDir = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds what the cluster serves: the web client always (a second or two, and
 * never stale), the server only when it was never built (`npm test` at the
 * root builds it first anyway).
 */
export default function globalSetup(): void {
  if (!existsSync(`${repoDir}/server/dist/main.js`)) {
    execFileSync('npm', ['run', 'build', '-w', 'server'], { cwd: repoDir, stdio: 'inherit' });
  }
  if (process.env.ROOMCAST_SKIP_WEB_BUILD !== '1') {
    execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: webDir, stdio: 'inherit' });
  }
}
