/**
 * vitest globalSetup: the integration tests run server/dist/main.js, so
 * rebuild it when any source file is newer than the build (the root
 * `npm test` builds first; this keeps `npm test -w server` honest too).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts') && !/\.(test|contract)\.ts$/.test(entry.name)) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const entry = path.join(serverDir, 'dist/main.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestSource(path.join(serverDir, 'src'))) return;
  console.log('server/dist is missing or older than server/src: building it (tsc)');
  execFileSync(process.execPath, [path.join(serverDir, '../node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: serverDir,
    stdio: 'inherit',
  });
}
