import { describe, expect, it } from 'vitest';
import { dayLabel, startOfDay } from './time.js';

describe('dayLabel', () => {
  const now = new Date(2026, 10, 25, 14, 30).getTime();

  it('names today and yesterday', () => {
    expect(dayLabel(new Date(2026, 10, 25, 0, 1).getTime(), now)).toBe('Today');
    expect(dayLabel(new Date(2026, 10, 24, 23, 59).getTime(), now)).toBe('Yesterday');
  });

  it('spells out older days with their year', () => {
    expect(dayLabel(new Date(2025, 0, 2, 12).getTime(), now)).toMatch(/2025/);
  });

  it('groups by local midnight', () => {
    expect(startOfDay(new Date(2026, 10, 25, 23, 59).getTime())).toBe(new Date(2026, 10, 25).getTime());
  });
});
