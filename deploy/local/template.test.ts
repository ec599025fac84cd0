import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_TEMPLATE, ROOMCAST_TEMPLATE, testNginxConfig, writeNginxConfig } from './nginx.js';
import { nginxTemplateDir } from './paths.js';
import { freePort } from './ports.js';
import { requireExecutable } from './process.js';
import { renderTemplate, templateVariables } from './template.js';

describe('renderTemplate', () => {
  it('substitutes ROOMCAST_* variables and leaves nginx variables alone', () => {
    const out = renderTemplate('listen ${ROOMCAST_LISTEN}; set $x $http_upgrade; ${host}', {
      ROOMCAST_LISTEN: '80',
    });
    expect(out).toBe('listen 80; set $x $http_upgrade; ${host}');
  });

  it('names every variable that has no value', () => {
    expect(() => renderTemplate('${ROOMCAST_A} ${ROOMCAST_B} ${ROOMCAST_A}', { ROOMCAST_B: 'b' })).toThrow(
      /without a value: ROOMCAST_A$/,
    );
  });

  it('refuses the brace-less form, which envsubst would render differently', () => {
    expect(() => renderTemplate('root $ROOMCAST_WEB_ROOT;', {})).toThrow(/without braces/);
  });
});

describe('nginx templates', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('roomcast.conf.template uses exactly the variables the Docker setup sets', async () => {
    const template = await readFile(path.join(nginxTemplateDir, ROOMCAST_TEMPLATE), 'utf8');
    expect(templateVariables(template).sort()).toEqual([
      'ROOMCAST_ACCESS_LOG',
      'ROOMCAST_LISTEN',
      'ROOMCAST_UPSTREAM_SERVERS',
      'ROOMCAST_WEB_ROOT',
    ]);
  });

  it('renders into a config that passes nginx -t', async () => {
    const runDir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-nginx-test-'));
    dirs.push(runDir);
    const config = await writeNginxConfig({
      runDir,
      port: await freePort(),
      upstreams: [await freePort(), await freePort(), await freePort()],
      workers: 2,
    });
    const rendered = await readFile(path.join(runDir, 'roomcast.conf'), 'utf8');
    expect(rendered).not.toMatch(/\$\{?ROOMCAST_/);
    expect(rendered).toMatch(/least_conn;/);
    expect(await readFile(config.confPath, 'utf8')).toMatch(/worker_processes 2;/);
    expect(await testNginxConfig(config)).toMatch(/test is successful/);
  });

  it('the local template is rendered with the same function', async () => {
    const template = await readFile(path.join(nginxTemplateDir, LOCAL_TEMPLATE), 'utf8');
    expect(templateVariables(template).sort()).toEqual(['ROOMCAST_RUN_DIR', 'ROOMCAST_WORKERS']);
  });
});

describe('requireExecutable', () => {
  it('says how to install what is missing', () => {
    expect(() => requireExecutable('roomcast-no-such-binary', 'roomcast-pkg')).toThrow(
      'roomcast-no-such-binary not found: install it with `apt-get install -y roomcast-pkg`',
    );
  });
});
