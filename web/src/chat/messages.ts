import { compareIds, type ChatMessage } from '@roomcast/server/protocol';

/**
 * Merges messages into a list kept sorted by id with no id twice.
 * Returns the same array when nothing was added, so callers can tell.
 * Live messages almost always come after the last one: that case is O(1).
 */
export function mergeMessages(list: readonly ChatMessage[], incoming: readonly ChatMessage[]): readonly ChatMessage[] {
  let result: ChatMessage[] | null = null;
  for (const message of incoming) {
    const current: readonly ChatMessage[] = result ?? list;
    const at = insertionIndex(current, message.id);
    if (at < 0) continue;
    result ??= list.slice();
    result.splice(at, 0, message);
  }
  return result ?? list;
}

/** Where a message with this id belongs, or -1 when the id is already there. */
function insertionIndex(list: readonly ChatMessage[], id: string): number {
  const last = list[list.length - 1];
  if (last === undefined || compareIds(last.id, id) < 0) return list.length;
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const order = compareIds(list[mid]!.id, id);
    if (order === 0) return -1;
    if (order < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}
