import { describe, expect, it } from 'vitest';
import { normalizeRoomInput, roomFromLocation, roomHref } from './route.js';

describe('room routes', () => {
  it('reads the room from the hash or the query', () => {
    expect(roomFromLocation({ hash: '#/room/dev-team', search: '' })).toBe('dev-team');
    expect(roomFromLocation({ hash: '', search: '?room=ops_1' })).toBe('ops_1');
    expect(roomFromLocation({ hash: roomHref('lobby'), search: '?room=other' })).toBe('lobby');
  });

  it('ignores names outside the contract', () => {
    expect(roomFromLocation({ hash: '#/room/Dev', search: '' })).toBeNull();
    expect(roomFromLocation({ hash: '#/room/%E0%A4%A', search: '' })).toBeNull();
    expect(roomFromLocation({ hash: '', search: '' })).toBeNull();
  });

  it('normalizes typed names', () => {
    expect(normalizeRoomInput('  #Dev Team ')).toBe('dev-team');
  });
});
