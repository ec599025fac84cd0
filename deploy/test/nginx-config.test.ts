/**
 * The nginx of `docker compose up`: the template compose mounts is the one the
 * local launcher renders, and rendered the way the official image renders it
 * (envsubst over the ROOMCAST_* variables compose sets) inside the web image's
 * nginx.conf, it passes `nginx -t`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, nginxTemplateDir, renderTemplate, repoRoot, writeNginxConfig } from '@roomcast/deploy/local';
import { run } from './support/child.js';
import { composeFile, parseCompose, type ComposeService } from './support/compose.js';
import { accessLogProblems, activeAccessLogs, logFormat, parseDirectives } from './support/nginx-logging.js';

const compose = parseCompose(readFileSync(composeFile, 'utf8'));
const nginx = compose.services.nginx as ComposeService;
const TEMPLATE_TARGET = /^\/etc\/nginx\/templates\/[^/]+\.conf\.template$/;

/** The host file compose mounts into /etc/nginx/templates/. */
function mountedTemplate(): string {
  const mounts = (nginx.volumes ?? []).map((v) => v.split(':'));
  const template = mounts.find(([, target]) => target !== undefined && TEMPLATE_TARGET.test(target));
  if (!template?.[0]) throw new Error('compose mounts no template into /etc/nginx/templates/');
  return path.resolve(path.dirname(composeFile), template[0]);
}

/** The `${ROOMCAST_*}` names in a template. */
function variablesOf(template: string): string[] {
  return [...new Set([...template.matchAll(/\$\{(ROOMCAST_[A-Z0-9_]+)\}/g)].map((m) => m[1] ?? ''))];
}

const hasEnvsubst = existsSync('/usr/bin/envsubst');
if (!hasEnvsubst) {
  console.warn('envsubst is not installed (apt-get install gettext-base): rendering with the launcher’s renderer instead');
}

/**
 * What the official image's 20-envsubst-on-templates.sh does: envsubst over
 * the defined variables that pass NGINX_ENVSUBST_FILTER. Without envsubst on
 * this machine, the launcher's renderer (which the next test compares with
 * envsubst where it exists).
 */
async function envsubstLikeTheImage(template: string, env: Record<string, string>): Promise<string> {
  const filter = new RegExp(env.NGINX_ENVSUBST_FILTER ?? '');
  const names = Object.keys(env).filter((name) => filter.test(name));
  if (!hasEnvsubst) return renderTemplate(template, Object.fromEntries(names.map((n) => [n, env[n] ?? ''])));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-envsubst-'));
  try {
    const input = path.join(dir, 'in');
    await writeFile(input, template);
    const result = await run('sh', ['-c', `envsubst "$VARS" < "${input}"`], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env, VARS: names.map((n) => `\${${n}}`).join(' ') },
    });
    if (result.code !== 0) throw new Error(`envsubst failed: ${result.output}`);
    return result.output;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('the nginx template compose mounts', () => {
  const templatePath = mountedTemplate();
  const template = readFileSync(templatePath, 'utf8');
  const env = nginx.environment ?? {};

  it('is the launcher’s template file in deploy/nginx, and the only copy in the repository', () => {
    expect(path.dirname(templatePath)).toBe(nginxTemplateDir);
    const copies: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        if (['node_modules', '.git', 'dist', '.cluster'].includes(entry)) continue;
        const full = path.join(dir, entry);
        if (statSync(full).isDirectory()) walk(full);
        else if (full !== templatePath && statSync(full).size === template.length && readFileSync(full, 'utf8') === template) {
          copies.push(full);
        }
      }
    };
    walk(repoRoot);
    expect(copies).toEqual([]);
  });

  it('gets every variable it uses from compose, and envsubst touches only ours', () => {
    const used = variablesOf(template);
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(env, name).toHaveProperty(name);
    const filter = new RegExp(env.NGINX_ENVSUBST_FILTER ?? '');
    for (const name of used) expect(filter.test(name), name).toBe(true);
    // nginx's own variables must survive the image's envsubst.
    expect(filter.test('http_upgrade')).toBe(false);
  });

  describe('rendered as the launcher does it', () => {
    let runDir: string;
    beforeAll(async () => {
      runDir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-launcher-render-'));
    });
    afterAll(async () => {
      await rm(runDir, { recursive: true, force: true });
    });

    it('is byte for byte this template with its variables filled in', async () => {
      await writeNginxConfig({ upstreams: [await freePort(), await freePort()], port: await freePort(), runDir });
      const rendered = await readFile(path.join(runDir, 'roomcast.conf'), 'utf8');
      // Every character outside ${ROOMCAST_*} must be the template's own.
      const pattern = template
        .split(/\$\{ROOMCAST_[A-Z0-9_]+\}/)
        .map(escapeRegex)
        .join('[\\s\\S]*?');
      expect(new RegExp(`^${pattern}$`).test(rendered)).toBe(true);
    });

    it('logs requests in the roomcast format only: paths, never query strings', async () => {
      const files = [await readFile(path.join(runDir, 'nginx.conf'), 'utf8'), await readFile(path.join(runDir, 'roomcast.conf'), 'utf8')];
      expect(accessLogProblems(files)).toEqual([]);
      expect(logFormat(files, 'roomcast')).toContain('$uri');
      expect(activeAccessLogs(files)).toEqual([{ file: path.join(runDir, 'access.log'), format: 'roomcast', blocks: ['server'] }]);
    });
  });

  describe('rendered as the official nginx image does it, inside the web image’s nginx.conf', () => {
    let dir: string;
    let rendered: string;

    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-compose-nginx-'));
      await chmod(dir, 0o755);
      // `nginx -t` resolves upstream host names: the replicas' compose names
      // (chat-1...) do not resolve here, so they become loopback ports.
      let port = 41000;
      const renderEnv = {
        ...env,
        ROOMCAST_UPSTREAM_SERVERS: (env.ROOMCAST_UPSTREAM_SERVERS ?? '').replace(/chat-\d+:3000/g, () => `127.0.0.1:${port++}`),
        // `nginx -t` opens the log files: the access log too goes to the temp dir.
        ROOMCAST_ACCESS_LOG: path.join(dir, 'access.log'),
      };
      rendered = await envsubstLikeTheImage(template, renderEnv);
      // The image's entrypoint writes templates/X.conf.template to conf.d/X.conf.
      await mkdir(path.join(dir, 'conf.d'));
      await mkdir(path.join(dir, 'temp'));
      await writeFile(path.join(dir, 'conf.d', 'roomcast.conf'), rendered);

      // The web image's top-level config, pointed into the temp dir (pid, log,
      // conf.d, temp paths) so that the test touches no system path.
      const imageConf = readFileSync(path.join(repoRoot, 'deploy/docker/nginx.conf'), 'utf8');
      const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];
      const conf = imageConf
        .replace(/^user .*;$/m, '')
        .replace('/var/run/nginx.pid', path.join(dir, 'nginx.pid'))
        .replace('/var/log/nginx/error.log', path.join(dir, 'error.log'))
        .replace('/etc/nginx/conf.d/', path.join(dir, 'conf.d') + '/')
        .replace(/^http \{$/m, `http {\n${temp.map((t) => `    ${t}_temp_path ${path.join(dir, 'temp', t)};`).join('\n')}`);
      expect(conf).toContain(path.join(dir, 'conf.d'));
      await writeFile(path.join(dir, 'nginx.conf'), conf);
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('leaves no ROOMCAST_ variable unrendered and nginx’s own variables intact', () => {
      expect(rendered).not.toMatch(/\$\{?ROOMCAST_/);
      expect(rendered).toContain('$http_upgrade');
      expect(rendered).toContain(`listen ${env.ROOMCAST_LISTEN};`);
      expect(rendered).toContain(`root "${env.ROOMCAST_WEB_ROOT}";`);
    });

    it.skipIf(!hasEnvsubst)('renders exactly as the launcher’s renderer would with the same values', () => {
      const port = { n: 41000 };
      const vars = Object.fromEntries(
        Object.entries(env)
          .filter(([name]) => name.startsWith('ROOMCAST_'))
          .map(([name, value]) => [name, name === 'ROOMCAST_UPSTREAM_SERVERS' ? value.replace(/chat-\d+:3000/g, () => `127.0.0.1:${port.n++}`) : value]),
      );
      vars.ROOMCAST_ACCESS_LOG = path.join(dir, 'access.log');
      expect(renderTemplate(template, vars)).toBe(rendered);
    });

    it('logs requests in the roomcast format only, to the file the image sends to stdout', async () => {
      const files = [await readFile(path.join(dir, 'nginx.conf'), 'utf8'), rendered];
      expect(accessLogProblems(files)).toEqual([]);
      expect(logFormat(files, 'roomcast')).toContain('$uri');
      expect(activeAccessLogs(files)).toEqual([{ file: path.join(dir, 'access.log'), format: 'roomcast', blocks: ['server'] }]);
      // The official nginx image links this file to /dev/stdout.
      expect(env.ROOMCAST_ACCESS_LOG).toBe('/var/log/nginx/access.log');
    });

    it('passes the Host the browser sent, port included, to the replicas', () => {
      const hosts = parseDirectives(rendered).filter((d) => d.name === 'proxy_set_header' && d.args[0]?.toLowerCase() === 'host');
      expect(hosts.map((d) => d.args[1])).toEqual(['$http_host']);
    });

    it('passes nginx -t', async () => {
      if (!existsSync('/usr/sbin/nginx')) throw new Error('nginx is not installed: apt-get install nginx');
      const result = await run('/usr/sbin/nginx', ['-t', '-p', dir, '-e', path.join(dir, 'error.log'), '-c', path.join(dir, 'nginx.conf')]);
      expect(result.output).toContain('test is successful');
      expect(result.code, result.output).toBe(0);
    });
  });
});

describe('the access log rules (checked against configs that break them)', () => {
  const top = 'http { access_log off; include roomcast.conf; }';

  it('accepts a path-only format and refuses every variable that carries a query string or a credential', () => {
    expect(accessLogProblems([top, "log_format ok '$request_method $uri $status'; server { access_log /l ok; }"])).toEqual([]);
    for (const variable of ['$request', '$request_uri', '$args', '$query_string', '$arg_token', '$http_referer', '$http_sec_websocket_protocol', '${request_uri}']) {
      const problems = accessLogProblems([top, `log_format leak '$uri ' "${variable}"; server { access_log /l leak; }`]);
      expect(problems, variable).toEqual([`log_format leak uses ${variable.replace(/[{}]/g, '')}`]);
    }
  });

  it('refuses an access log without our format (nginx would use combined), and a top level without access_log', () => {
    expect(accessLogProblems([top, 'server { access_log /l; }'])).toEqual([
      'access_log /l has no format: nginx uses combined (the request line)',
    ]);
    expect(accessLogProblems([top, 'server { access_log /l combined; }'])).toEqual([
      'access_log /l uses format combined, which is not defined here',
    ]);
    expect(accessLogProblems(['http { include roomcast.conf; }', "log_format ok '$uri'; server { access_log /l ok; }"])).toEqual([
      'the http block sets no access_log: nginx would log in combined format by default',
    ]);
  });

  it('reads nginx syntax: comments, quotes and blocks', () => {
    expect(parseDirectives("# log_format x '$request';\nhttp { a 'b;c' \"d\" ; server { listen 80; } }")).toEqual([
      { name: 'a', args: ['b;c', 'd'], blocks: ['http'] },
      { name: 'listen', args: ['80'], blocks: ['http', 'server'] },
    ]);
  });
});
