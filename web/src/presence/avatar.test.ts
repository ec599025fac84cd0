import { describe, expect, it } from 'vitest';
import { avatarColor, luminance } from './PresenceList.js';

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
const contrastWithWhite = (hex: string) => 1.05 / (luminance(rgb(hex)) + 0.05);

describe('avatar colours', () => {
  const ids = Array.from({ length: 200 }, (_, i) => `user-${i}-${(i * 7919).toString(36)}`);

  it('are stable per user', () => {
    expect(avatarColor('u-alice')).toBe(avatarColor('u-alice'));
  });

  it('spread over many colours: two people rarely share one', () => {
    expect(new Set(ids.map(avatarColor)).size).toBeGreaterThanOrEqual(30);
    let pairs = 0;
    let same = 0;
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        pairs++;
        if (avatarColor(ids[i]!) === avatarColor(ids[j]!)) same++;
      }
    }
    // A palette of 8 gives two people the same colour one time in 8 (12.5 %); 36 hues about one in 36.
    expect(same / pairs).toBeLessThan(0.05);
  });

  it('keep white initials readable (WCAG AA, 4.5:1) at every hue', () => {
    for (let i = 0; i < 2000; i++) expect(contrastWithWhite(avatarColor(`id-${i}`))).toBeGreaterThanOrEqual(4.5);
  });
});
