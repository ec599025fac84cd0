/**
 * The browser-origin rule of contract v2, for API calls and WebSocket
 * upgrades alike: with ALLOWED_ORIGINS set, an `Origin` header must be one
 * of them; unset, it must be the request's own origin (its Host header,
 * port included). Requests without `Origin` (backends, scripts) pass.
 *
 * The scheme of the request is not known behind a TLS-terminating proxy, so
 * the default rule compares host and port only.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[] | undefined): boolean {
  if (origin === undefined) return true;
  if (allowed) return allowed.includes(origin);
  if (!host) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file: pages) and garbage
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return url.host === normalizeHost(host, url.protocol);
}

/** `Host` as URL.host writes it: lower case, default port dropped. */
function normalizeHost(host: string, protocol: string): string {
  try {
    return new URL(`${protocol}//${host}`).host;
  } catch {
    return '';
  }
}

export const ORIGIN_REFUSED = 'this origin may not call the chat API (see ALLOWED_ORIGINS)';
