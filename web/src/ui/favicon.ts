/**
 * The tab's icon, with the number of unread messages on it while there are
 * any: the page's own mark, and a red badge in its corner.
 */
const MARK =
  "<rect width='32' height='32' rx='8' fill='%234f46e5'/><text x='16' y='23' font-size='20' text-anchor='middle' fill='white' font-family='sans-serif' font-weight='700'>%23</text>";

export function faviconHref(unread: number): string {
  const badge =
    unread > 0
      ? `<circle cx='23' cy='9' r='9' fill='%23dc2626' stroke='white' stroke-width='1.5'/><text x='23' y='13' font-size='${unread > 9 ? 9 : 12}' text-anchor='middle' fill='white' font-family='sans-serif' font-weight='700'>${unread > 99 ? '99' : unread}</text>`
      : '';
  return `data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E${MARK}${badge}%3C/svg%3E`
    .replace(/</g, '%3C')
    .replace(/>/g, '%3E');
}

export function showUnreadInTab(unread: number): void {
  document.title = unread > 0 ? `(${unread}) Roomcast` : 'Roomcast';
  const link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (link) {
    link.href = faviconHref(unread);
    link.dataset.unread = String(unread);
  }
}
