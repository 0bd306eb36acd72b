import { describe, expect, it } from 'vitest';
import { SentTimes } from './tracking-writes.ts';

describe('SentTimes', () => {
  it('remembers send times by ref and empties itself rather than grow past its bound', () => {
    const sent = new SentTimes(3);
    sent.remember(new Map([['a', 1], ['b', 2]]));
    expect(sent.get('a')).toBe(1);
    expect(sent.get('c')).toBeUndefined();
    sent.remember(new Map([['c', 3], ['d', 4]]));
    expect(sent.get('a')).toBeUndefined();
    expect([sent.get('c'), sent.get('d')]).toEqual([3, 4]);
  });
});
