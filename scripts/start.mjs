#!/usr/bin/env node
/**
 * `npm start`: one process on the embedded in-memory broker, serving the web
 * client, at http://localhost:3000. Builds first when the sources are newer
 * than the build.
 */
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Newest modification time of a file, or of any file below a directory. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function stale(sources, output) {
  return !existsSync(output) || sources.some((s) => newest(join(root, s)) > statSync(output).mtimeMs);
}

const builds = [
  ['server', ['server/src'], join(root, 'server/dist/main.js')],
  ['web', ['web/src', 'web/index.html', 'server/src/protocol.ts'], join(root, 'web/dist/index.html')],
];
for (const [workspace, sources, output] of builds) {
  if (!stale(sources, output)) continue;
  console.log(`Building ${workspace}…`);
  const result = spawnSync('npm', ['run', 'build', '-w', workspace], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// The replicas' V8 flags (REPLICA_NODE_OPTIONS in deploy/local/replica.ts); yours come after and win.
const nodeOptions = ['--max-semi-space-size=4', process.env.NODE_OPTIONS].filter(Boolean).join(' ');
const env = { PORT: '3000', WEB_ROOT: join(root, 'web/dist'), ...process.env, NODE_OPTIONS: nodeOptions };
console.log(`Roomcast (embedded broker) on http://localhost:${env.PORT}`);
const child = spawn(process.execPath, [join(root, 'server/dist/main.js')], { cwd: root, env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
