/** HTTP helpers for the integration tests: login, JSON requests, polling external state. */
import type { LoginResponse } from '../../src/protocol.js';

export interface JsonResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  method?: string;
  token?: string;
  /** Serialized as JSON unless it is already a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** One HTTP call; the body parsed as JSON when it is JSON, else the text. */
export async function request<T = unknown>(baseUrl: string, path: string, opts: RequestOptions = {}): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** POST /api/login; throws unless it answered 200. */
export async function login(baseUrl: string, name: string): Promise<LoginResponse> {
  const res = await request<LoginResponse>(baseUrl, '/api/login', { body: { name } });
  if (res.status !== 200) throw new Error(`login of ${JSON.stringify(name)} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

// Polls external state (a replica's /readyz, the presence API): the same
// helper the unit tests use. Not for our own sockets: those have events.
export { until } from '../../src/broker/broker.contract.js';

/** GET <url>/readyz status, or 0 when the process does not answer. */
export async function readyz(replicaUrl: string): Promise<number> {
  try {
    return (await fetch(`${replicaUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 0;
  }
}

/** The value of an unlabelled metric in a replica's GET /metrics (Prometheus text). */
export async function metric(replicaUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${replicaUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
