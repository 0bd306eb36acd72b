import { describe, expect, it } from 'vitest';
import { createKeyring } from './secrets.ts';

describe('keyring', () => {
  it('derives a stable, purpose-specific keyed hash', () => {
    const a = createKeyring(Buffer.alloc(32, 1));
    const b = createKeyring(Buffer.alloc(32, 2));
    expect(a.keyedHash('suppression', 'x@example.com')).toBe(a.keyedHash('suppression', 'x@example.com'));
    expect(a.keyedHash('suppression', 'x@example.com')).not.toBe(a.keyedHash('links', 'x@example.com'));
    expect(a.keyedHash('suppression', 'x@example.com')).not.toBe(b.keyedHash('suppression', 'x@example.com'));
    expect(a.keyedHash('suppression', 'x@example.com')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a short master secret', () => {
    expect(() => createKeyring(Buffer.alloc(16))).toThrow(/at least 32 bytes/);
  });
});
