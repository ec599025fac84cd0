/**
 * The Deploy documentation keeps up with the server: every setting the server
 * reads and every roomcast_* metric it exports is named there.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@roomcast/deploy/local';
import { serverEnvVariables } from './support/server-config.js';

/** The draft in deploy/README.md until it is merged into the root README's Deploy section. */
function deployDocs(): string {
  const draft = path.join(repoRoot, 'deploy/README.md');
  if (existsSync(draft)) return readFileSync(draft, 'utf8');
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const start = readme.search(/^## Deploy\b/m);
  if (start < 0) throw new Error('README.md has no "## Deploy" section');
  const end = readme.slice(start + 1).search(/^## /m);
  return end < 0 ? readme.slice(start) : readme.slice(start, start + 1 + end);
}

describe('Deploy documentation', () => {
  const docs = deployDocs();

  it('names every environment variable the server reads', () => {
    for (const variable of serverEnvVariables()) expect(docs, variable).toContain(`\`${variable}\``);
  });

  it('names every roomcast_* metric the server exports', () => {
    const source = readFileSync(path.join(repoRoot, 'server/src/metrics.ts'), 'utf8');
    const metrics = [...source.matchAll(/name:\s*'(roomcast_[a-z0-9_]+)'/g)].map((m) => m[1] ?? '');
    expect(metrics.length).toBeGreaterThan(0);
    for (const metric of metrics) expect(docs, metric).toContain(metric);
  });

  it('documents the compose steps and scaling to five', () => {
    expect(docs).toContain('cp deploy/docker/.env.example .env');
    expect(docs).toContain('docker compose up --build');
    expect(docs).toContain('NODE_ID: n5');
  });
});
