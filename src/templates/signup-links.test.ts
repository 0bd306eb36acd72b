import { describe, expect, it } from 'vitest';
import { createKeyring } from '../lib/secrets.ts';
import { parseSignupToken, signSignupToken, signupConfirmUrl, verifySignupToken } from './signup-links.ts';

const keyring = createKeyring(Buffer.alloc(32, 7));
const claims = { contactId: 42, topicIds: [3, 7], expiresAt: Date.parse('2026-12-04T10:00:00Z') };

describe('double opt-in links', () => {
  it('reads back what it signed, for the address it was signed for', () => {
    const token = signSignupToken(keyring, claims, 'sara@example.com');
    expect(signupConfirmUrl('https://mail.shop.example', token)).toBe(`https://mail.shop.example/signup/confirm/${token}`);
    const parsed = parseSignupToken(token)!;
    expect(parsed).toMatchObject(claims);
    expect(verifySignupToken(keyring, parsed, 'sara@example.com')).toBe(true);
    // The contact's address changed since: the link no longer proves control of the inbox.
    expect(verifySignupToken(keyring, parsed, 'new@example.com')).toBe(false);
  });

  it('refuses a token with any part changed, or signed with another key', () => {
    const token = signSignupToken(keyring, claims, 'sara@example.com');
    const [id, topics, exp, sig] = token.split('.') as [string, string, string, string];
    for (const altered of [`43.${topics}.${exp}.${sig}`, `${id}.3-7-9.${exp}.${sig}`, `${id}.3.${exp}.${sig}`, `${id}.${topics}.${(parseInt(exp, 36) + 1).toString(36)}.${sig}`]) {
      const parsed = parseSignupToken(altered);
      expect(parsed && verifySignupToken(keyring, parsed, 'sara@example.com')).toBe(false);
    }
    const other = createKeyring(Buffer.alloc(32, 8));
    expect(verifySignupToken(other, parseSignupToken(token)!, 'sara@example.com')).toBe(false);
  });

  it('does not parse malformed tokens', () => {
    for (const bad of ['', 'garbage', '1.2.3', '1..abc.AAAAAAAAAAAAAAAAAAAAAA', '1.2.abc.AAAA', 'x.2.abc.AAAAAAAAAAAAAAAAAAAAAA', `1.${'1-'.repeat(70)}1.abc.AAAAAAAAAAAAAAAAAAAAAA`, '1.2.abc.AAAAAAAAAAAAAAAAAAAAAA/..', '9'.repeat(2000)]) {
      expect(parseSignupToken(bad)).toBeNull();
    }
  });
});
