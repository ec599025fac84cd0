/** Launcher mechanics with stand-in entry points; the real server is exercised in cluster.test.ts. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLICA_NODE_OPTIONS, startReplica } from './replica.js';

describe('startReplica', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-replica-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails with the output of a replica that exits before it is ready', async () => {
    const entry = path.join(dir, 'crash.mjs');
    await writeFile(entry, "console.error('boom: ' + process.env.NODE_ID); process.exit(3);\n");
    await expect(startReplica({ nodeId: 'x1', secret: 's', entry })).rejects.toThrow(
      /replica x1 exited with code 3 before it was ready[\s\S]*boom: x1/,
    );
  });

  it('passes its settings as environment variables and waits for /healthz', async () => {
    const entry = path.join(dir, 'echo-env.mjs');
    await writeFile(
      entry,
      `import http from 'node:http';
const env = { PORT: process.env.PORT, HOST: process.env.HOST, NODE_ID: process.env.NODE_ID,
  REDIS_URL: process.env.REDIS_URL ?? null, CHAT_JWT_SECRET: process.env.CHAT_JWT_SECRET,
  LOG_LEVEL: process.env.LOG_LEVEL, EXTRA: process.env.EXTRA, NODE_OPTIONS: process.env.NODE_OPTIONS };
http.createServer((req, res) => res.end(req.url === '/healthz' ? 'ok' : JSON.stringify(env)))
  .listen(Number(process.env.PORT), process.env.HOST, () => console.log('listening'));
process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });
`,
    );
    const replica = await startReplica({ nodeId: 'x2', secret: 'sekrit', entry, env: {
      EXTRA: 'yes',
      LOG_LEVEL: 'debug',
      NODE_OPTIONS: '--stack-trace-limit=7',
    } });
    try {
      const env = (await (await fetch(`${replica.url}/env`)).json()) as Record<string, string | null>;
      expect(env).toEqual({
        PORT: String(replica.port),
        HOST: '127.0.0.1',
        NODE_ID: 'x2',
        REDIS_URL: null,
        CHAT_JWT_SECRET: 'sekrit',
        LOG_LEVEL: 'debug',
        EXTRA: 'yes',
        // The replicas' own flags first, the caller's after them (the last one wins).
        NODE_OPTIONS: `${REPLICA_NODE_OPTIONS} --stack-trace-limit=7`,
      });
      expect(replica.logs()).toContain('listening');

      const lines: string[] = [];
      replica.onLog((line) => lines.push(line));
      await replica.stop();
      expect(replica.alive).toBe(false);
      expect(lines).toContain('bye');
    } finally {
      await replica.kill();
    }
  });
});
