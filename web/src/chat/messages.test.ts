import { describe, expect, it } from 'vitest';
import { mergeMessages } from './messages.js';
import { message } from './test-support/fakes.js';

const ids = (list: readonly { id: string }[]) => list.map((m) => m.id);

describe('mergeMessages', () => {
  it('appends live messages and keeps the array when nothing is new', () => {
    const list = mergeMessages([], [message('r', '1-0'), message('r', '1-1')]);
    expect(ids(list)).toEqual(['1-0', '1-1']);
    expect(mergeMessages(list, [message('r', '1-1')])).toBe(list);
  });

  it('orders ids numerically (ms, then seq), not as strings', () => {
    const list = mergeMessages([], ['10-0', '9-10', '9-9', '100-0', '9-0'].map((id) => message('r', id)));
    expect(ids(list)).toEqual(['9-0', '9-9', '9-10', '10-0', '100-0']);
  });

  it('prepends an older page and drops the overlap', () => {
    const list = mergeMessages([], ['5-0', '6-0'].map((id) => message('r', id)));
    const merged = mergeMessages(list, ['3-0', '4-0', '5-0'].map((id) => message('r', id)));
    expect(ids(merged)).toEqual(['3-0', '4-0', '5-0', '6-0']);
    expect(ids(list)).toEqual(['5-0', '6-0']); // the input is not mutated
  });
});
