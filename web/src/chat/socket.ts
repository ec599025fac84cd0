/** What the chat client needs from the platform: a WebSocket, and news of the network. */

/** Lets a handler taking a richer event (the DOM's MessageEvent, ws's) fit. */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of the WebSocket API we use; the browser's and the `ws` package's both fit. */
export interface SocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type SocketConstructor = new (url: string, protocols?: string[]) => SocketLike;

/** Tells the client when the device goes on- or offline (the browser's `window`). */
export interface NetworkEvents {
  readonly onLine: boolean;
  addEventListener(type: 'online' | 'offline', listener: () => void): void;
  removeEventListener(type: 'online' | 'offline', listener: () => void): void;
}

/** The socket origin of a page: ws: for http:, wss: for https:. */
export function socketOrigin(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
}

