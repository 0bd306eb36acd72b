import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seal, unseal } from './sealed.ts';
import { createKeyring } from './secrets.ts';

describe('sealed secrets', () => {
  const keyring = createKeyring(randomBytes(32));

  it('round-trips and never stores the plaintext', () => {
    const sealed = seal(keyring, 'dkim-key', '-----BEGIN PRIVATE KEY-----\nabc');
    expect(sealed).not.toContain('PRIVATE');
    expect(unseal(keyring, 'dkim-key', sealed)).toBe('-----BEGIN PRIVATE KEY-----\nabc');
    expect(seal(keyring, 'dkim-key', 'x')).not.toBe(seal(keyring, 'dkim-key', 'x'));
  });

  it('refuses a tampered value, another purpose, another master secret and a foreign format', () => {
    const sealed = seal(keyring, 'transport-secret', 'api-key-123');
    const bytes = Buffer.from(sealed.slice(3), 'base64url');
    bytes[bytes.length - 1]! ^= 1;
    expect(() => unseal(keyring, 'transport-secret', `v1.${bytes.toString('base64url')}`)).toThrow(/cannot be opened/);
    expect(() => unseal(keyring, 'dkim-key', sealed)).toThrow(/cannot be opened/);
    expect(() => unseal(createKeyring(randomBytes(32)), 'transport-secret', sealed)).toThrow(/cannot be opened/);
    expect(() => unseal(keyring, 'transport-secret', 'plain-text')).toThrow(/unknown format/);
    expect(() => unseal(keyring, 'transport-secret', 'v1.abc')).toThrow(/truncated/);
  });
});
