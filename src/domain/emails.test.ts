import { describe, expect, it } from 'vitest';
import { normalizeEmail } from './emails.ts';

describe('normalizeEmail', () => {
  it.each([
    ['  Alice@Example.COM ', 'Alice@example.com', 'alice@example.com'],
    ['bob+tag@sub.example.co.uk', 'bob+tag@sub.example.co.uk', 'bob+tag@sub.example.co.uk'],
    ['o\'reilly@example.com', "o'reilly@example.com", "o'reilly@example.com"],
    ['user@Bücher.DE', 'user@bücher.de', 'user@bücher.de'],
    ['user@xn--bcher-kva.de', 'user@bücher.de', 'user@bücher.de'],
    ['علی@example.ir', 'علی@example.ir', 'علی@example.ir'],
    ['dot.ted@example.com.', 'dot.ted@example.com', 'dot.ted@example.com'],
  ])('accepts %j as %j (key %j)', (input, email, key) => {
    const r = normalizeEmail(input);
    expect(r).toMatchObject({ ok: true, value: { email, key } });
  });

  it('gives the ASCII form of an internationalised domain', () => {
    const r = normalizeEmail('a@Bücher.de');
    expect(r.ok && r.value.asciiDomain).toBe('xn--bcher-kva.de');
  });

  it.each([
    ['', 'is empty'],
    ['plainaddress', 'has no @'],
    ['@example.com', 'has nothing before the @'],
    ['user@', 'has no domain after the @'],
    ['user@localhost', 'has no dot'],
    ['user@@example.com', 'quoted or multi-@'],
    ['"john"@example.com', 'quoted'],
    ['john doe@example.com', 'spaces or control characters'],
    ['a@example.com\r\nBcc: victim@example.com', 'spaces or control characters'],
    ['.john@example.com', 'dots'],
    ['john..doe@example.com', 'dots'],
    ['john@-example.com', 'invalid label'],
    ['john@exa_mple.com', 'invalid label'],
    ['john@[192.168.0.1]', 'IP-literal'],
    ['john@1.2.3.4', 'ends in a number'],
    [`${'a'.repeat(65)}@example.com`, 'longer than 64'],
    [`a@${'b'.repeat(250)}.com`, 'longer than 254'],
  ])('rejects %j saying it %s', (input, reason) => {
    const r = normalizeEmail(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });
});
