import type {
  AddedFrame,
  AuthConfigResponse,
  HttpErrorBody,
  LoginResponse,
  MemberEntry,
  MembersList,
  MessagesPage,
  Role,
  RoomInfo,
  RoomResponse,
  RoomsList,
} from '@roomcast/server/protocol';

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** A room as `GET /api/rooms` lists it; `peer` is the other person's id in a direct-message room. */
export type RoomListing = RoomInfo;
/** A member as `GET /api/rooms/:room/members` lists them; `name` when the server knows it. */
export type MemberListing = MemberEntry;
/** Extension frame: the user was added to a private room or DM (by `by`). */
export type AddedEvent = AddedFrame;

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

/** The HTTP half of the contract: sign-in, history, rooms and their members. */
export class ChatApi {
  constructor(
    private readonly fetch: FetchLike,
    private readonly baseUrl: string,
    /** A request with no answer by then is aborted (a TimeoutError, like any network failure). */
    private readonly timeoutMs = 15_000,
  ) {}

  /** How this deployment signs people in (no token needed). */
  authConfig(): Promise<AuthConfigResponse> {
    return this.request<AuthConfigResponse>('/api/auth/config', {});
  }

  login(name: string): Promise<LoginResponse> {
    return this.request<LoginResponse>('/api/login', json('POST', { name }));
  }

  /** The newest `limit` messages older than `before`, oldest first. */
  messages(token: string, room: string, before: string | undefined, limit: number): Promise<MessagesPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before !== undefined) query.set('before', before);
    return this.request<MessagesPage>(`${roomPath(room)}/messages?${query}`, bearer(token));
  }

  /** The caller's private rooms and DMs, and public rooms they hold a role in. */
  async rooms(token: string): Promise<RoomListing[]> {
    const body = await this.request<RoomsList>('/api/rooms', bearer(token));
    return body.rooms;
  }

  async createPrivateRoom(token: string, name: string, members: readonly string[]): Promise<RoomListing> {
    const body = await this.request<RoomResponse>('/api/rooms', bearer(token, json('POST', { name, private: true, members })));
    return body.room;
  }

  /** The DM room of the caller and `user` (the same room from both sides). */
  async openDm(token: string, user: string): Promise<RoomListing> {
    const body = await this.request<RoomResponse>('/api/dm', bearer(token, json('POST', { user })));
    return body.room;
  }

  async members(token: string, room: string): Promise<MemberListing[]> {
    const body = await this.request<MembersList>(`${roomPath(room)}/members`, bearer(token));
    return body.members;
  }

  /** Adds the user (or changes their role). */
  async setMember(token: string, room: string, user: string, role: Exclude<Role, 'owner'>): Promise<void> {
    await this.request(`${roomPath(room)}/members/${encodeURIComponent(user)}`, bearer(token, json('PUT', { role })));
  }

  async removeMember(token: string, room: string, user: string): Promise<void> {
    await this.request(`${roomPath(room)}/members/${encodeURIComponent(user)}`, bearer(token, { method: 'DELETE' }));
  }

  /** Cheap authenticated call, used to tell a refused token from a network problem. */
  async tokenAccepted(token: string): Promise<boolean | null> {
    try {
      await this.request('/api/rooms/lobby/presence', bearer(token));
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return false;
      return null;
    }
  }

  private async request<T>(path: string, init: RequestInit): Promise<T> {
    const response = await this.fetch(`${this.baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    // 204 has no body; anything else that is not JSON counts as none.
    const body: unknown = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = (body as Partial<HttpErrorBody> | null)?.error;
      throw new ApiError(response.status, error?.code ?? 'internal', error?.message ?? `HTTP ${response.status}`);
    }
    return body as T;
  }
}

function roomPath(room: string): string {
  return `/api/rooms/${encodeURIComponent(room)}`;
}

function json(method: string, body: unknown): RequestInit {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function bearer(token: string, init: RequestInit = {}): RequestInit {
  return { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } };
}
