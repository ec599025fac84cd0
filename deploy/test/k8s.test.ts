/**
 * deploy/k8s: every manifest validates against the Kubernetes schemas
 * (kubernetes-models), and the pieces fit together: probes on paths the
 * server serves, ports and selectors that match, the secret by reference.
 * image.test.ts requests the probe paths from a running server.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
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
import { k8sDir, readManifests, typecheckManifests, validateWithModel, type Located, type Manifest } from './support/k8s.js';
import { appliedPersistence } from './support/redis-persistence.js';
import { serverEnvVariables } from './support/server-config.js';

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

const deployment = one<IDeployment>('Deployment');
const podSpec = deployment.spec?.template.spec;
const chat = podSpec?.containers.find((c) => c.name === 'chat') as IContainer;
const podLabels = deployment.spec?.template.metadata?.labels ?? {};
const service = one<IService>('Service', 'roomcast-chat');
const configMap = one<IConfigMap>('ConfigMap', 'roomcast-config');
const statefulSet = one<IStatefulSet>('StatefulSet');

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

describe('Kubernetes manifests', () => {
  it('are all listed in kustomization.yaml (only the example secret is left out on purpose)', () => {
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

  it('names each replica after its pod, listens on all interfaces, and takes the secret by reference', () => {
    expect(chat.env?.find((e) => e.name === 'NODE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(envValue(chat, 'HOST')).toBe('0.0.0.0');
    expect(envValue(chat, 'PORT')).toBe(String(containerPort(chat, 'http')));
    const ref = chat.env?.find((e) => e.name === 'CHAT_JWT_SECRET')?.valueFrom?.secretKeyRef;
    const example = one<ISecret>('Secret', undefined, all.map((l) => l.manifest));
    expect(ref).toEqual({ name: example.metadata?.name, key: 'CHAT_JWT_SECRET' });
    // The placeholder is too short for the server (>= 32 bytes): it refuses to boot on it.
    expect(Buffer.byteLength(example.stringData?.CHAT_JWT_SECRET ?? '')).toBeLessThan(32);
    expect(applied.some((m) => m.kind === 'Secret')).toBe(false);
  });

  it('sets only variables the server reads', () => {
    const known = serverEnvVariables();
    const names = [...(chat.env ?? []).map((e) => e.name), ...Object.keys(configMap.data ?? {})];
    for (const name of names) expect(known, name).toContain(name);
    expect(chat.envFrom).toEqual([{ configMapRef: { name: configMap.metadata?.name } }]);
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
    expect(new URL(configMap.data?.REDIS_URL ?? '').hostname).toBe(redisService.metadata?.name);
    const policy = one<INetworkPolicy>('NetworkPolicy');
    expect(matches(policy.spec?.podSelector.matchLabels, redisLabels)).toBe(true);
    expect(matches(policy.spec?.ingress?.[0]?.from?.[0]?.podSelector?.matchLabels, podLabels)).toBe(true);
  });

  it('configures Redis with AOF (everysec) and RDB rules that redis-server accepts', async () => {
    const redisConfig = one<IConfigMap>('ConfigMap', 'redis-config');
    const container = statefulSet.spec?.template.spec?.containers[0] as IContainer;
    expect(container.command).toEqual(['redis-server', '/etc/redis/redis.conf']);
    const settings = await appliedPersistence({ configText: redisConfig.data?.['redis.conf'] ?? '' });
    expect(settings).toEqual({ appendonly: 'yes', appendfsync: 'everysec', save: '900 1 300 10 60 10000' });
  });

  it('pins the images', () => {
    expect(chat.image).toMatch(/^roomcast\/server:\d+\.\d+\.\d+$/);
    expect(kustomization.images?.[0]?.name).toBe(chat.image?.split(':')[0]);
    const redisImage = statefulSet.spec?.template.spec?.containers[0]?.image;
    expect(redisImage).toMatch(/^redis:\d+\.\d+[\w.-]*$/);
  });
});
