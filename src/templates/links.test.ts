import { describe, expect, it } from 'vitest';
import { addUtm, decodeEntities, encodeAttr, isTrackable } from './links.ts';

describe('addUtm', () => {
  const utm = { source: 'chapar', medium: 'email', campaign: 'spring sale' };
  it.each([
    ['https://shop.example/', 'https://shop.example/?utm_source=chapar&utm_medium=email&utm_campaign=spring%20sale'],
    ['https://shop.example/p?id=1', 'https://shop.example/p?id=1&utm_source=chapar&utm_medium=email&utm_campaign=spring%20sale'],
    ['https://shop.example/p?id=1#reviews', 'https://shop.example/p?id=1&utm_source=chapar&utm_medium=email&utm_campaign=spring%20sale#reviews'],
    ['https://shop.example/p?', 'https://shop.example/p?utm_source=chapar&utm_medium=email&utm_campaign=spring%20sale'],
    ['https://shop.example/p?utm_source=mine', 'https://shop.example/p?utm_source=mine'],
    ['https://shop.example/p?a=1&UTM_campaign=x', 'https://shop.example/p?a=1&UTM_campaign=x'],
  ])('%s → %s', (input, output) => {
    expect(addUtm(input, utm)).toBe(output);
  });

  it('leaves links alone without UTM settings', () => {
    expect(addUtm('https://shop.example/', null)).toBe('https://shop.example/');
    expect(addUtm('https://shop.example/', {})).toBe('https://shop.example/');
  });
});

describe('isTrackable', () => {
  it('accepts absolute http(s) links only', () => {
    expect(isTrackable('https://shop.example/x')).toBe(true);
    expect(isTrackable('http://shop.example')).toBe(true);
    for (const u of ['mailto:a@b.c', 'tel:+98', '#top', '/relative', 'javascript:alert(1)', 'https://exa mple.com']) expect(isTrackable(u)).toBe(false);
  });
});

describe('decodeEntities and encodeAttr', () => {
  it('round-trip a link through a double-quoted attribute', () => {
    for (const url of ['https://shop.example/a?b=1&c=2', 'https://x.example/"<q>"&amp;', 'https://plain.example/p']) {
      const attr = encodeAttr(url);
      expect(attr).not.toMatch(/["<>]|&(?!amp;|quot;|lt;|gt;)/);
      expect(decodeEntities(attr)).toBe(url);
    }
    expect(decodeEntities('a&#39;b&amp;lt;')).toBe("a'b&lt;");
  });
});
