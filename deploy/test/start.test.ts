/**
 * The README's first promise: `npm start` runs the chat as one process on the
 * embedded broker, serving the web client, with nothing else installed.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort, REPLICA_NODE_OPTIONS, repoRoot, waitForPort } from '@roomcast/deploy/local';
import { startChild, type Child } from './support/child.js';

let child: Child | undefined;
afterAll(async () => {
  await child?.kill();
});

describe('npm start (scripts/start.mjs)', () => {
  it('serves the web client and the API on the embedded broker, and drains on SIGTERM', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), LOG_LEVEL: 'warn' };
    delete env.REDIS_URL;
    child = startChild(process.execPath, ['scripts/start.mjs'], { cwd: repoRoot, env });
    await waitForPort(port, { timeoutMs: 120_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${child?.output()}`);
    });
    const base = `http://127.0.0.1:${port}`;

    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root"></div>');
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    // start.mjs runs the server as its child, with the replicas' V8 flags.
    const [serverPid] = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ');
    const serverEnv = readFileSync(`/proc/${serverPid}/environ`, 'utf8').split('\0');
    expect(serverEnv).toContain(`NODE_OPTIONS=${REPLICA_NODE_OPTIONS}`);

    const login = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'newcomer' }),
    });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };

    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`);
    const frames: { type: string; text?: string }[] = [];
    const echoed = new Promise<void>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data)) as { type: string; text?: string };
        frames.push(frame);
        if (frame.type === 'welcome') ws.send(JSON.stringify({ type: 'join', room: 'lobby' }));
        if (frame.type === 'joined') ws.send(JSON.stringify({ type: 'send', room: 'lobby', text: 'hello', ref: 'r1' }));
        if (frame.type === 'message') resolve();
      });
    });
    await echoed;
    expect(frames.map((f) => f.type)).toEqual(['welcome', 'joined', 'message']);
    expect(frames[2]?.text).toBe('hello');

    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    child.signal('SIGTERM');
    expect(await closed).toBe(1012);
    expect((await child.exited).code).toBe(0);
  });
});
