/**
 * The Kubernetes manifests in deploy/k8s, read as kubectl would read them, and
 * two schema checks from kubernetes-models: its JSON-schema validators
 * (types, required fields, formats) and its TypeScript interfaces, which also
 * reject fields the API does not have (a misspelt `readinessProbe` would
 * otherwise be dropped silently by the validators and refused by a strict
 * API server).
 */
import { readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '@roomcast/deploy/local';
import { Namespace, ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { run } from './child.js';

export const k8sDir = path.join(repoRoot, 'deploy/k8s');

/** A parsed manifest with the fields every object has. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Located {
  file: string;
  manifest: Manifest;
}

interface Validatable {
  validate(): void;
}

/** The model class of every kind we ship; a new kind needs its entry here. */
const MODELS: Record<string, { new (data: never): Validatable; modulePath: string; typeName: string }> = {};
function register(apiVersion: string, kind: string, model: new (data: never) => Validatable): void {
  const group = apiVersion.includes('/') ? apiVersion : `v1`;
  MODELS[`${apiVersion}/${kind}`] = Object.assign(model, { modulePath: `kubernetes-models/${group}/${kind}`, typeName: `I${kind}` });
}
register('v1', 'Namespace', Namespace);
register('v1', 'ConfigMap', ConfigMap);
register('v1', 'Secret', Secret);
register('v1', 'Service', Service);
register('apps/v1', 'Deployment', Deployment);
register('apps/v1', 'StatefulSet', StatefulSet);
register('policy/v1', 'PodDisruptionBudget', PodDisruptionBudget);
register('autoscaling/v2', 'HorizontalPodAutoscaler', HorizontalPodAutoscaler);
register('networking.k8s.io/v1', 'Ingress', Ingress);
register('networking.k8s.io/v1', 'NetworkPolicy', NetworkPolicy);

export function readManifests(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(path.join(k8sDir, file), 'utf8'));
  return docs
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

/** Validates one manifest with its kubernetes-models class; throws with the schema errors. */
export function validateWithModel(manifest: Manifest): void {
  const model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!model) throw new Error(`no kubernetes-models class registered for ${manifest.apiVersion} ${manifest.kind}`);
  new model(manifest as never).validate();
}

/**
 * Type-checks every manifest against kubernetes-models' interfaces with tsc:
 * object literals with fields the API does not define fail (excess property
 * checks). Returns tsc's output; code 0 means every manifest passed.
 */
export async function typecheckManifests(items: Located[]): Promise<{ code: number | null; output: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-k8s-types-'));
  try {
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
    const imports = new Map<string, string>();
    const lines: string[] = [];
    items.forEach(({ file, manifest }, i) => {
      const model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
      if (!model) throw new Error(`no kubernetes-models class registered for ${manifest.apiVersion} ${manifest.kind}`);
      const alias = `T${imports.size}`;
      if (!imports.has(model.modulePath)) imports.set(model.modulePath, alias);
      lines.push(`// ${file}: ${manifest.kind} ${manifest.metadata.name}`);
      lines.push(`export const m${i}: ${imports.get(model.modulePath)}.${model.typeName} = ${JSON.stringify(manifest, null, 2)};`);
    });
    const header = [...imports].map(([modulePath, alias]) => `import type * as ${alias} from '${modulePath}';`);
    await writeFile(path.join(dir, 'manifests.ts'), [...header, ...lines].join('\n'));
    await writeFile(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', noEmit: true, skipLibCheck: true, types: [] },
        files: ['manifests.ts'],
      }),
    );
    const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
    return await run(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Kubernetes' `$(NAME)` expansion in env values, command and args: a defined
 * name is replaced, `$$` is a literal `$`, anything else stays as written.
 */
export function expandK8s(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$';
    return env[name] ?? match;
  });
}

export interface EnvSources {
  configMaps?: Record<string, Record<string, string>>;
  secrets?: Record<string, Record<string, string>>;
  /** fieldRef paths, e.g. metadata.name. */
  fields?: Record<string, string>;
}

/**
 * The environment a container's process sees, as the kubelet builds it:
 * envFrom first, then env in order, each value expanded against what is
 * defined before it. Throws on a reference to a missing ConfigMap, Secret or key.
 */
export function containerEnv(container: IContainer, sources: EnvSources): Record<string, string> {
  const env: Record<string, string> = {};
  const lookup = (kind: 'configMaps' | 'secrets', name: string, key?: string): Record<string, string> | string => {
    const object = sources[kind]?.[name];
    if (!object) throw new Error(`${kind} ${name} is not provided`);
    if (key === undefined) return object;
    const value = object[key];
    if (value === undefined) throw new Error(`${kind} ${name} has no key ${key}`);
    return value;
  };
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, lookup('configMaps', from.configMapRef.name ?? ''));
    if (from.secretRef) Object.assign(env, lookup('secrets', from.secretRef.name ?? ''));
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (from?.secretKeyRef) env[variable.name] = lookup('secrets', from.secretKeyRef.name ?? '', from.secretKeyRef.key) as string;
    else if (from?.configMapKeyRef) env[variable.name] = lookup('configMaps', from.configMapKeyRef.name ?? '', from.configMapKeyRef.key) as string;
    else if (from?.fieldRef) env[variable.name] = sources.fields?.[from.fieldRef.fieldPath] ?? '';
    else env[variable.name] = expandK8s(variable.value ?? '', env);
  }
  return env;
}
