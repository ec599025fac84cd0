import type { HttpErrorBody, LoginResponse, MessagesPage } from '@roomcast/server/protocol';

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** An HTTP answer that was not 2xx, with the contract's error code when the body had one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The HTTP half of the contract: login and history. */
export class ChatApi {
  constructor(
    private readonly fetch: FetchLike,
    private readonly baseUrl: string,
  ) {}

  login(name: string): Promise<LoginResponse> {
    return this.request<LoginResponse>('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
  }

  /** The newest `limit` messages older than `before`, oldest first. */
  messages(token: string, room: string, before: string | undefined, limit: number): Promise<MessagesPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before !== undefined) query.set('before', before);
    return this.request<MessagesPage>(`/api/rooms/${encodeURIComponent(room)}/messages?${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
  }

  /** Cheap authenticated call, used to tell a refused token from a network problem. */
  async tokenAccepted(token: string): Promise<boolean | null> {
    try {
      await this.request('/api/rooms/lobby/presence', { headers: { authorization: `Bearer ${token}` } });
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return false;
      return null;
    }
  }

  private async request<T>(path: string, init: RequestInit): Promise<T> {
    const response = await this.fetch(`${this.baseUrl}${path}`, init);
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (body as Partial<HttpErrorBody> | null)?.error;
      throw new ApiError(response.status, error?.code ?? 'internal', error?.message ?? `HTTP ${response.status}`);
    }
    return body as T;
  }
}
