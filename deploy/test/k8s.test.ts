/**
 * deploy/k8s: every manifest validates against the Kubernetes schemas
 * (kubernetes-models), and the pieces fit together: probes on paths the
 * server serves, ports and selectors that match, the secret by reference.
 * image.test.ts requests the probe paths from a running server.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@roomcast/deploy/local';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import {
  containerEnv,
  expandK8s,
  k8sDir,
  readManifests,
  typecheckManifests,
  validateWithModel,
  type EnvSources,
  type Located,
  type Manifest,
} from './support/k8s.js';
import { run } from './support/child.js';
import { startDeployedRedis, type DeployedRedis } from './support/redis-persistence.js';
import { loadServerConfig, serverEnvVariables } from './support/server-config.js';

interface Kustomization {
  namespace: string;
  resources: string[];
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
}

const kustomization = parse(readFileSync(path.join(k8sDir, 'kustomization.yaml'), 'utf8')) as Kustomization;
const EXAMPLE_FILES = ['secret.example.yaml'];
const files = [...kustomization.resources, ...EXAMPLE_FILES];
const all: Located[] = files.flatMap((file) => readManifests(file).map((manifest) => ({ file, manifest })));
const applied = all.filter(({ file }) => kustomization.resources.includes(file)).map(({ manifest }) => manifest);

function one<T>(kind: string, name?: string, from: Manifest[] = applied): T {
  const found = from.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as unknown as T;
}

const exampleSecrets = all.filter((l) => l.manifest.kind === 'Secret').map((l) => l.manifest as unknown as ISecret);
const deployment = one<IDeployment>('Deployment');
const podSpec = deployment.spec?.template.spec;
const chat = podSpec?.containers.find((c) => c.name === 'chat') as IContainer;
const podLabels = deployment.spec?.template.metadata?.labels ?? {};
const service = one<IService>('Service', 'roomcast-chat');
const configMap = one<IConfigMap>('ConfigMap', 'roomcast-config');
const statefulSet = one<IStatefulSet>('StatefulSet');
const redisContainer = statefulSet.spec?.template.spec?.containers[0] as IContainer;
const redisConfig = one<IConfigMap>('ConfigMap', 'redis-config');

/** Values for the Secrets the manifests reference: what an operator creates (the README's commands). */
const TEST_SECRETS = {
  'roomcast-jwt': { CHAT_JWT_SECRET: 'k8s-test-jwt-secret-0123456789abcdef0123456789' },
  'roomcast-redis': { REDIS_PASSWORD: '6b8s0test0redis0password0aa11bb22cc33dd44ee55ff66' },
};
const envSources: EnvSources = {
  configMaps: { [configMap.metadata?.name ?? '']: configMap.data ?? {} },
  secrets: TEST_SECRETS,
  fields: { 'metadata.name': 'roomcast-chat-5d8f7-abcde' },
};
/** The chat process's environment as the kubelet builds it (envFrom, then env with $(VAR) expanded). */
const chatEnv = containerEnv(chat, envSources);

function envValue(container: IContainer, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value ?? configMap.data?.[name];
}

function containerPort(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
if (!kubectl) console.warn('kubectl is not installed: skipping `kubectl kustomize` and the secret commands');

describe.skipIf(!kubectl)('kubectl (client only: there is no cluster here)', () => {
  it('builds the kustomization (what `kubectl apply -k deploy/k8s` applies): every object, in namespace roomcast', async () => {
    const result = await run(kubectl ?? '', ['kustomize', k8sDir], { env: { PATH: process.env.PATH, HOME: os.tmpdir() } });
    expect(result.code, result.output).toBe(0);
    const built = parseAllDocuments(result.output).map((doc) => doc.toJS() as Manifest);
    const key = (m: Manifest): string => `${m.kind}/${m.metadata.name}`;
    expect(built.map(key).sort()).toEqual(applied.map(key).sort());
    for (const m of built) if (m.kind !== 'Namespace') expect(m.metadata.namespace, key(m)).toBe('roomcast');
  });

  it('the README’s commands create exactly the Secrets the manifests reference, with values they accept', async () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const commands = [...readme.matchAll(/^kubectl -n roomcast create secret generic .*$/gm)].map((m) => m[0]);
    expect(commands.length).toBe(2);
    const created: Record<string, Record<string, string>> = {};
    for (const command of commands) {
      // The shell runs $(openssl ...) as it would for the operator; nothing reaches a cluster.
      const result = await run('sh', ['-c', `${command.replace(/^kubectl/, '"$KUBECTL"')} --dry-run=client -o json`], {
        env: { PATH: process.env.PATH, HOME: os.tmpdir(), KUBECTL: kubectl },
      });
      expect(result.code, result.output).toBe(0);
      const secret = JSON.parse(result.output) as { metadata: { name: string }; data: Record<string, string> };
      created[secret.metadata.name] = Object.fromEntries(
        Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    }
    const referenced = new Set<string>();
    for (const container of [chat, redisContainer]) {
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (ref) referenced.add(`${ref.name}/${ref.key}`);
      }
    }
    expect(Object.entries(created).flatMap(([name, data]) => Object.keys(data).map((k) => `${name}/${k}`)).sort()).toEqual([...referenced].sort());
    expect(Buffer.byteLength(created['roomcast-jwt']?.CHAT_JWT_SECRET ?? '')).toBeGreaterThanOrEqual(32);
    // What the Redis container's start-up check demands (tested with redis-server below).
    expect(created['roomcast-redis']?.REDIS_PASSWORD).toMatch(/^[A-Za-z0-9._~-]{32,}$/);
  });
});

describe('Kubernetes manifests', () => {
  it('are all listed in kustomization.yaml (only the example secrets are left out on purpose)', () => {
    const yamlFiles = readdirSync(k8sDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...yamlFiles].sort()).toEqual([...files].sort());
    for (const file of files) expect(existsSync(path.join(k8sDir, file)), file).toBe(true);
    expect(kustomization.namespace).toBe('roomcast');
    expect(kustomization.resources).not.toContain('secret.example.yaml');
  });

  it.each(all.map(({ file, manifest }) => [`${file}: ${manifest.kind} ${manifest.metadata.name}`, manifest] as const))(
    'validates against the Kubernetes schema: %s',
    (_label, manifest) => {
      expect(() => validateWithModel(manifest)).not.toThrow();
    },
  );

  it('uses no field the Kubernetes API does not define (tsc against kubernetes-models types)', async () => {
    const result = await typecheckManifests(all);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 30_000);

  it('run the chat Deployment with 3 replicas, probes on /readyz and /healthz, and graceful termination', () => {
    expect(deployment.spec?.replicas).toBe(3);
    expect(chat.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(chat.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(containerPort(chat, chat.readinessProbe?.httpGet?.port)).toBe(3000);
    expect(containerPort(chat, chat.livenessProbe?.httpGet?.port)).toBe(3000);
    expect(chat.resources?.requests).toBeDefined();
    expect(chat.resources?.limits?.memory).toBeDefined();

    // preStop delay + the server's own drain deadline must fit in the grace period.
    const preStop = chat.lifecycle?.preStop?.exec?.command ?? [];
    expect(preStop[0]).toBe('sleep');
    const drainSeconds = Number(envValue(chat, 'SHUTDOWN_GRACE_MS') ?? 10_000) / 1000;
    expect(podSpec?.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(Number(preStop[1]) + drainSeconds + 5);
  });

  it('names each replica after its pod, listens on all interfaces, and takes the secrets by reference', () => {
    expect(chat.env?.find((e) => e.name === 'NODE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(envValue(chat, 'HOST')).toBe('0.0.0.0');
    expect(envValue(chat, 'PORT')).toBe(String(containerPort(chat, 'http')));
    const jwt = one<ISecret>('Secret', 'roomcast-jwt', all.map((l) => l.manifest));
    expect(chat.env?.find((e) => e.name === 'CHAT_JWT_SECRET')?.valueFrom?.secretKeyRef).toEqual({ name: 'roomcast-jwt', key: 'CHAT_JWT_SECRET' });
    // The placeholder is too short for the server (>= 32 bytes): it refuses to boot on it.
    expect(Buffer.byteLength(jwt.stringData?.CHAT_JWT_SECRET ?? '')).toBeLessThan(32);
    expect(applied.some((m) => m.kind === 'Secret')).toBe(false);
    // Every secretKeyRef of every container names an example Secret and one of its keys.
    for (const container of [chat, redisContainer]) {
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (!ref) continue;
        const example = exampleSecrets.find((secret) => secret.metadata?.name === ref.name);
        expect(Object.keys(example?.stringData ?? {}), `${container.name}: ${variable.name}`).toContain(ref.key);
      }
    }
  });

  it('builds REDIS_URL from the roomcast-redis Secret: the password is never in a ConfigMap', () => {
    const names = (chat.env ?? []).map((e) => e.name);
    expect(chat.env?.find((e) => e.name === 'REDIS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'roomcast-redis', key: 'REDIS_PASSWORD' });
    // $(REDIS_PASSWORD) is only expanded when it is defined earlier in the list.
    expect(names.indexOf('REDIS_PASSWORD')).toBeLessThan(names.indexOf('REDIS_URL'));
    expect(envValue(chat, 'REDIS_URL')).toBe('redis://:$(REDIS_PASSWORD)@redis:6379');
    expect(configMap.data?.REDIS_URL).toBeUndefined();
    expect(chatEnv.REDIS_URL).toBe(`redis://:${TEST_SECRETS['roomcast-redis'].REDIS_PASSWORD}@redis:6379`);
    expect(decodeURIComponent(new URL(chatEnv.REDIS_URL ?? '').password)).toBe(TEST_SECRETS['roomcast-redis'].REDIS_PASSWORD);
  });

  it('sets only variables the server reads (and the ones other values are built from)', () => {
    const known = serverEnvVariables();
    const values = (chat.env ?? []).map((e) => e.value ?? '').join('\n');
    const names = [...(chat.env ?? []).map((e) => e.name), ...Object.keys(configMap.data ?? {})];
    for (const name of names) {
      if (values.includes(`$(${name})`)) continue;
      expect(known, name).toContain(name);
    }
    expect(chat.envFrom).toEqual([{ configMapRef: { name: configMap.metadata?.name } }]);
  });

  it('gives the pods an environment the server accepts: Redis with its password, the ingress trusted, no guest login', async () => {
    // NODE_ENV=production comes from the image (image.test.ts checks it).
    const config = await loadServerConfig({ NODE_ENV: 'production', ...chatEnv });
    expect(config.redis).toMatchObject({ mode: 'single', url: chatEnv.REDIS_URL });
    expect(config.trustProxy).toEqual(['uniquelocal']);
    expect(config.guestLogin).toBe(false);
    expect(config.nodeId).toBe('roomcast-chat-5d8f7-abcde');
  });

  it('spreads replicas with pod anti-affinity on their own labels', () => {
    const terms = podSpec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    expect(terms.length).toBeGreaterThan(0);
    for (const term of terms) {
      expect(term.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
      expect(matches(term.podAffinityTerm.labelSelector?.matchLabels, podLabels)).toBe(true);
    }
  });

  it('has a Service whose selector and targetPort reach the chat container', () => {
    expect(matches(service.spec?.selector, podLabels)).toBe(true);
    expect(matches(deployment.spec?.selector.matchLabels, podLabels)).toBe(true);
    for (const port of service.spec?.ports ?? []) {
      expect(containerPort(chat, port.targetPort)).toBe(3000);
    }
  });

  it('has a PodDisruptionBudget and an autoscaling/v2 HPA for that Deployment', () => {
    const pdb = one<IPodDisruptionBudget>('PodDisruptionBudget');
    expect(matches(pdb.spec?.selector?.matchLabels, podLabels)).toBe(true);
    const hpa = one<IHorizontalPodAutoscaler & Manifest>('HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata?.name });
    expect(hpa.spec?.minReplicas).toBe(deployment.spec?.replicas);
    expect(hpa.spec?.maxReplicas).toBeGreaterThan(hpa.spec?.minReplicas ?? 0);
  });

  it('exposes the app through ingress-nginx with WebSocket timeouts of at least an hour', () => {
    const ingress = one<IIngress>('Ingress', 'roomcast');
    const annotations = ingress.metadata?.annotations ?? {};
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(3600);
    expect(ingress.spec?.ingressClassName).toBe('nginx');
    const servicePorts = (service.spec?.ports ?? []).map((p) => p.name);
    const ingresses = applied.filter((m) => m.kind === 'Ingress') as unknown as IIngress[];
    for (const ing of ingresses) {
      for (const rule of ing.spec?.rules ?? []) {
        for (const p of rule.http?.paths ?? []) {
          expect(p.backend.service?.name).toBe(service.metadata?.name);
          expect(servicePorts).toContain(p.backend.service?.port?.name);
        }
      }
    }
    // The operational endpoints are answered only inside the cluster.
    const internal = one<IIngress>('Ingress', 'roomcast-internal');
    const paths = internal.spec?.rules?.flatMap((r) => r.http?.paths.map((p) => p.path) ?? []);
    expect(paths).toEqual(['/metrics', '/healthz', '/readyz']);
    expect(internal.metadata?.annotations?.['nginx.ingress.kubernetes.io/whitelist-source-range']).toBe('127.0.0.1/32');
  });

  it('runs Redis as a StatefulSet with a volume claim behind a headless Service named in REDIS_URL', () => {
    const redisService = one<IService>('Service', 'redis');
    expect(redisService.spec?.clusterIP).toBe('None');
    expect(statefulSet.spec?.serviceName).toBe(redisService.metadata?.name);
    const redisLabels = statefulSet.spec?.template.metadata?.labels ?? {};
    expect(matches(redisService.spec?.selector, redisLabels)).toBe(true);
    const container = statefulSet.spec?.template.spec?.containers[0] as IContainer;
    expect(containerPort(container, redisService.spec?.ports?.[0]?.targetPort)).toBe(6379);
    const claim = statefulSet.spec?.volumeClaimTemplates?.[0];
    expect(container.volumeMounts).toContainEqual({ name: claim?.metadata?.name, mountPath: '/data' });
    const url = new URL(chatEnv.REDIS_URL ?? '');
    expect(url.hostname).toBe(redisService.metadata?.name);
    expect(Number(url.port)).toBe(redisService.spec?.ports?.[0]?.port);
    const policy = one<INetworkPolicy>('NetworkPolicy', 'redis');
    expect(matches(policy.spec?.podSelector.matchLabels, redisLabels)).toBe(true);
    expect(matches(policy.spec?.ingress?.[0]?.from?.[0]?.podSelector?.matchLabels, podLabels)).toBe(true);
  });

  describe('the chat NetworkPolicy', () => {
    const policy = one<INetworkPolicy>('NetworkPolicy', 'roomcast-chat');
    const redisLabels = statefulSet.spec?.template.metadata?.labels ?? {};

    it('selects the chat pods and restricts both directions', () => {
      expect(matches(policy.spec?.podSelector.matchLabels, podLabels)).toBe(true);
      expect(policy.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    });

    it('admits only the ingress controller’s namespace and Prometheus, on the http port', () => {
      const rules = policy.spec?.ingress ?? [];
      expect(rules.length).toBe(2);
      for (const rule of rules) {
        expect(rule.ports?.map((p) => containerPort(chat, p.port))).toEqual([3000]);
        expect(rule.from?.length).toBe(1);
        // A namespace selector, never "from anywhere" (an empty or missing peer).
        expect(Object.keys(rule.from?.[0]?.namespaceSelector?.matchLabels ?? {})).toEqual(['kubernetes.io/metadata.name']);
      }
      expect(rules[0]?.from?.[0]).toEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } });
      expect(rules[1]?.from?.[0]?.podSelector?.matchLabels).toEqual({ 'app.kubernetes.io/name': 'prometheus' });
      // The pods' scrape annotation names the port the policy opens.
      expect(Number(deployment.spec?.template.metadata?.annotations?.['prometheus.io/port'])).toBe(containerPort(chat, 'http'));
    });

    it('lets the pods reach only Redis on 6379, DNS, and HTTPS (the identity provider’s JWKS)', () => {
      const rules = policy.spec?.egress ?? [];
      const ports = (rule: (typeof rules)[number]): string[] => (rule.ports ?? []).map((p) => `${p.port}/${p.protocol}`);
      // Every rule is limited to ports: nothing is open on every port.
      for (const rule of rules) expect(ports(rule).length).toBeGreaterThan(0);
      const redisRule = rules.find((r) => r.to?.some((peer) => matches(peer.podSelector?.matchLabels, redisLabels)));
      expect(redisRule && ports(redisRule)).toEqual([`${containerPort(redisContainer, 'redis')}/TCP`]);
      const dnsRule = rules.find((r) => r.to?.some((peer) => peer.podSelector?.matchLabels?.['k8s-app'] === 'kube-dns'));
      expect(dnsRule && ports(dnsRule)).toEqual(['53/UDP', '53/TCP']);
      const anywhere = rules.filter((r) => r.to === undefined);
      expect(anywhere.map(ports)).toEqual([['443/TCP']]);
      expect(rules.length).toBe(3);
    });
  });

  describe('Redis, started the way its container starts it (the real redis-server)', () => {
    const mount = redisContainer.volumeMounts?.find((m) => m.name === 'config');
    const configPath = `${mount?.mountPath}/redis.conf`;
    const command = (redisContainer.command ?? []).map((arg) => expandK8s(arg, {}));
    const redisEnv = containerEnv(redisContainer, envSources);
    const password = TEST_SECRETS['roomcast-redis'].REDIS_PASSWORD;
    const configText = redisConfig.data?.['redis.conf'] ?? '';
    let redis: DeployedRedis;

    beforeAll(async () => {
      redis = await startDeployedRedis({ argv: command, env: redisEnv, config: { text: configText, path: configPath } });
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('applies AOF (everysec), the RDB rules and protected mode from its ConfigMap', async () => {
      expect(await redis.persistence(password)).toEqual({ appendonly: 'yes', appendfsync: 'everysec', save: '900 1 300 10 60 10000' });
      expect(await redis.config('protected-mode', password)).toBe('yes');
      expect(await redis.config('maxmemory-policy', password)).toBe('noeviction');
    });

    it('requires the password from the roomcast-redis Secret, which the chat pods’ REDIS_URL carries', async () => {
      // From the Secret, through the command line: never in the ConfigMap.
      expect(configText).not.toMatch(/^\s*requirepass/m);
      expect(await redis.config('requirepass', password)).toBe(password);
      await expect(redis.command(['PING'])).rejects.toThrow(/^NOAUTH/);
      await expect(redis.command(['PING'], { password: 'wrong' })).rejects.toThrow(/WRONGPASS/);
      const fromUrl = decodeURIComponent(new URL(chatEnv.REDIS_URL ?? '').password);
      expect(await redis.command(['PING'], { password: fromUrl })).toBe('PONG');
    });

    it('is ready by its readiness probe, which authenticates with REDISCLI_AUTH (and fails without it)', async () => {
      const probe = redisContainer.readinessProbe?.exec?.command ?? [];
      expect(probe.slice(0, 2)).toEqual(['sh', '-c']);
      expect(probe.join(' ')).not.toMatch(/\s-a\s/);
      expect(redisEnv.REDISCLI_AUTH).toBe(password);
      const ready = await redis.probe(probe[2] ?? '', redisEnv);
      expect(ready.code, ready.output).toBe(0);
      const { REDISCLI_AUTH: _auth, ...withoutAuth } = redisEnv;
      expect((await redis.probe(probe[2] ?? '', withoutAuth)).code).not.toBe(0);
    });

    it('refuses to start on the example Secret’s placeholder or a URL-unsafe password, naming REDIS_PASSWORD', async () => {
      const placeholder = one<ISecret>('Secret', 'roomcast-redis', all.map((l) => l.manifest)).stringData?.REDIS_PASSWORD ?? '';
      for (const bad of [placeholder, 'x'.repeat(40) + '@/:', '']) {
        const env = { ...redisEnv, REDIS_PASSWORD: bad };
        await expect(startDeployedRedis({ argv: command, env, config: { text: configText, path: configPath } }), bad).rejects.toThrow(
          /exited with code 1:\nREDIS_PASSWORD \(Secret roomcast-redis\)/,
        );
      }
    });
  });

  it.skipIf(!nonLoopbackAddress())('protected mode: a Redis started from the ConfigMap without its password answers loopback only', async () => {
    const address = nonLoopbackAddress() ?? '';
    const configText = redisConfig.data?.['redis.conf'] ?? '';
    const bare = await startDeployedRedis({
      argv: ['redis-server', '/etc/redis/redis.conf'],
      config: { text: configText, path: '/etc/redis/redis.conf' },
      bind: ['127.0.0.1', address],
    });
    try {
      expect(await bare.command(['PING'])).toBe('PONG');
      await expect(redisCommandFrom(address, bare.port)).rejects.toThrow(/^DENIED/);
    } finally {
      await bare.stop();
    }
  });

  it('pins the images', () => {
    expect(chat.image).toMatch(/^roomcast\/server:\d+\.\d+\.\d+$/);
    expect(kustomization.images?.[0]?.name).toBe(chat.image?.split(':')[0]);
    const redisImage = statefulSet.spec?.template.spec?.containers[0]?.image;
    expect(redisImage).toMatch(/^redis:\d+\.\d+[\w.-]*$/);
  });
});

/** A non-loopback IPv4 address of this machine, to connect to Redis from "outside". */
function nonLoopbackAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
}

async function redisCommandFrom(host: string, port: number): Promise<unknown> {
  const { redisCommand } = await import('@roomcast/deploy/local');
  return redisCommand(port, ['PING'], 2000, { host });
}
