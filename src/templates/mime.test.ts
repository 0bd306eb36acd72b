import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { generateDkimKey, parseDkimKey, signMessage } from '../mta/dkim.ts';
import type { ComposedMessage } from './compose.ts';
import { quotedPrintable, rfc5322Date, writeMime } from './mime.ts';

const NOW = Date.parse('2026-11-27T10:00:00Z');

function message(over: Partial<ComposedMessage> = {}): ComposedMessage {
  return {
    messageRef: 'm0abcdef12345678',
    messageId: '<m0abcdef12345678@shop.example>',
    from: { name: 'Kaveh Shop', address: 'news@shop.example' },
    replyTo: 'help@shop.example',
    to: 'sara@example.com',
    subject: 'Your cart is waiting',
    html: '<p>Hi <b>Sara</b></p>\n',
    text: 'Hi Sara\n',
    headers: [
      ['List-Unsubscribe', '<https://mail.shop.example/u/42.newsletter.m0abcdef12345678.abcdefghijklmnopqrstuv>, <mailto:unsubscribe+42.newsletter.m0abcdef12345678.abcdefghijklmnopqrstuv@bounce.shop.example>'],
      ['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'],
      ['Feedback-ID', 'flow-7:abandoned-cart-1:marketing:kaveh'],
    ],
    envelope: { from: 'bounces+m0abcdef12345678-0123456789@bounce.shop.example', to: 'sara@example.com' },
    ...over,
  };
}

// What mailparser gives back for a part: the same text with every line end as \n.
const asParsed = (s: string) => s.replace(/\r\n?/g, '\n');

/** Every line of the message ends in CRLF and none is longer than 998 octets; body lines keep to 76. */
function expectWellFormed(raw: Buffer): void {
  expect(raw.includes('\n\n')).toBe(false);
  const lines = raw.toString('latin1').split('\r\n');
  expect(lines.pop()).toBe('');
  for (const line of lines) {
    expect(line).not.toMatch(/[\r\n]/);
    expect(line.length).toBeLessThanOrEqual(998);
  }
  const bodyStart = lines.indexOf('');
  for (const line of lines.slice(bodyStart)) expect(line.length).toBeLessThanOrEqual(76);
  for (const line of lines.slice(0, bodyStart)) if (!line.startsWith('List-Unsubscribe:')) expect(line.length).toBeLessThanOrEqual(78);
}

describe('writeMime', () => {
  it('writes a message mailparser reads back exactly: Persian and emoji subject, encoded sender name, both parts', async () => {
    const subject = 'سبد خرید شما منتظر است 🛒 — your cart at Kaveh is saved for whenever you’re ready to come back';
    const text = 'Hi Sara,\n\nYour cart: 2 × کفش دویدن سبک = ۱۲۵٬۰۰۰ تومان 👟\nSee https://shop.example/c?a=1&b=2\n';
    const html = '<!doctype html>\n<html lang="fa" dir="rtl"><body style="margin:0">\n  <p>سلام سارا،</p>\n  <a href="https://shop.example/c?a=1&amp;b=2">سبد</a> 👟\n</body></html>\n';
    const raw = writeMime(message({ subject, text, html, from: { name: 'فروشگاه کاوه', address: 'news@shop.example' } }), NOW);
    expectWellFormed(raw);
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe(subject);
    expect(parsed.from?.value).toEqual([{ name: 'فروشگاه کاوه', address: 'news@shop.example' }]);
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value : null).toEqual([{ name: '', address: 'sara@example.com' }]);
    expect(parsed.replyTo?.value).toEqual([{ name: '', address: 'help@shop.example' }]);
    expect(parsed.messageId).toBe('<m0abcdef12345678@shop.example>');
    expect(parsed.date?.toISOString()).toBe('2026-11-27T10:00:00.000Z');
    expect(parsed.text).toBe(asParsed(text));
    expect(parsed.html).toBe(asParsed(html));
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(parsed.headerLines.find((h) => h.key === 'list-unsubscribe-post')?.line).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(raw.toString()).toMatch(/^List-Unsubscribe: <https:\/\/mail\.shop\.example\/u\/42\.newsletter\.m0abcdef12345678\.abcdefghijklmnopqrstuv>, <mailto:unsubscribe\+42\.newsletter\.m0abcdef12345678\.abcdefghijklmnopqrstuv@bounce\.shop\.example>\r$/m);
    expect(raw.toString()).toMatch(/^Feedback-ID: flow-7:abandoned-cart-1:marketing:kaveh\r$/m);
    // The text part comes first, then the HTML (readers show the last part they can).
    expect(raw.indexOf('Content-Type: text/plain')).toBeLessThan(raw.indexOf('Content-Type: text/html'));
  });

  it('keeps sender names and subjects of plain ASCII readable, quoting or encoding only what needs it', async () => {
    for (const name of ['Kaveh Shop', 'Kaveh "Best" Shop, Inc.', 'a=?b?=c', 'Ümlaut & Co']) {
      const subject = `Hello from ${name} — it's a longer subject line that goes on well past the seventy-eight characters a line should keep to`;
      const raw = writeMime(message({ from: { name, address: 'news@shop.example' }, subject }), NOW);
      expectWellFormed(raw);
      const parsed = await simpleParser(raw);
      expect(parsed.from?.value[0]).toEqual({ name, address: 'news@shop.example' });
      expect(parsed.subject).toBe(subject);
    }
    const raw = writeMime(message({ subject: 'Plain ASCII  with two spaces' }), NOW).toString();
    expect(raw).toMatch(/^From: Kaveh Shop <news@shop\.example>\r$/m);
    expect(raw).toMatch(/^Subject: Plain ASCII {2}with two spaces\r$/m);
  });

  it('carries long lines, dots and "From " at line starts, trailing blanks, lone CRs and = signs through unchanged', async () => {
    const text = ['.', '.hidden dot line', 'From the team', 'x'.repeat(3000), 'a '.repeat(200), 'trailing blanks   ', 'tab\t', 'equals = =3D ==', `${'é'.repeat(100)}😀${'z'.repeat(74)}.`, 'end'].join('\n');
    const html = `<p>${'<span>word</span> '.repeat(400)}</p>\r\n.\r\nFrom here\rlone CR\n${'ن'.repeat(500)}`;
    const raw = writeMime(message({ text, html }), NOW);
    expectWellFormed(raw);
    expect(raw.toString()).not.toMatch(/\r\n\./);
    expect(raw.toString()).not.toMatch(/\r\nFrom /);
    const parsed = await simpleParser(raw);
    expect(parsed.text).toBe(asParsed(text));
    expect(parsed.html).toBe(asParsed(html));
  });

  it('survives any mix of characters (seeded random texts)', async () => {
    let seed = 11;
    const rnd = (k: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % k;
    };
    const alphabet = ['a', 'Z', ' ', '  ', '\t', '\n', '\r\n', '.', '=', '=3D', '_', '?', '=?', '"', 'From ', 'é', 'ن', '€', '😀', '👩‍👩‍👧', '\u200c', '<', '>', '&'];
    for (let k = 0; k < 60; k++) {
      const pick = (len: number) => Array.from({ length: len }, () => alphabet[rnd(alphabet.length)]).join('');
      const subject = pick(1 + rnd(60)).replace(/[\r\n]/g, ' ').trim() || 'x';
      const text = pick(rnd(400));
      const html = pick(rnd(400));
      const name = pick(1 + rnd(20)).replace(/[\r\n]/g, ' ').trim();
      const raw = writeMime(message({ subject, text, html, from: { name, address: 'news@shop.example' } }), NOW);
      expectWellFormed(raw);
      const parsed = await simpleParser(raw);
      expect(parsed.subject).toBe(subject);
      // (An empty part reads back as one line end: mailparser's way with an empty body.)
      expect(parsed.text).toBe(text === '' ? '\n' : asParsed(text));
      expect(parsed.html || '\n').toBe(html === '' ? '\n' : asParsed(html));
    }
  });

  it('refuses a line break, a second address or a bad header name in any header value', () => {
    const bad: [string, Partial<ComposedMessage>][] = [
      ['subject', { subject: 'Hi\r\nBcc: victim@example.com' }],
      ['fromName', { from: { name: 'Shop\nBcc: x@y', address: 'news@shop.example' } }],
      ['fromEmail', { from: { name: 'Shop', address: 'news@shop.example\r\nBcc: x@y' } }],
      ['to', { to: 'sara@example.com, victim@example.com' }],
      ['to', { to: 'Sara <sara@example.com>' }],
      ['replyTo', { replyTo: 'help@shop.example\nX: y' }],
      ['messageId', { messageId: '<a@b>\r\nX: y' }],
      ['List-Unsubscribe', { headers: [['List-Unsubscribe', '<https://x>\r\nBcc: victim@example.com']] }],
      ['headers', { headers: [['Bad Name', 'x']] }],
    ];
    for (const [field, over] of bad) {
      expect(() => writeMime(message(over), NOW), field).toThrow(expect.objectContaining({ code: 'validation_failed', message: expect.stringContaining(field) }));
    }
  });

  it('writes internationalised domains in their ASCII form', async () => {
    const raw = writeMime(message({ to: 'sara@bücher.de' }), NOW);
    expect(raw.toString()).toMatch(/^To: sara@xn--bcher-kva\.de\r$/m);
  });

  it('verifies with mailauth after DKIM signing (RSA-2048 and Ed25519)', async () => {
    const rsa = await generateDkimKey('rsa-sha256');
    const ed = await generateDkimKey('ed25519-sha256');
    const zone: Record<string, string> = { 'rsa2026._domainkey.shop.example': rsa.dnsValue, 'ed2026._domainkey.shop.example': ed.dnsValue };
    const resolver = async (name: string, type: string) => {
      if (type === 'TXT' && zone[name]) return [[zone[name]!]];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    const raw = writeMime(message({ subject: 'سبد خرید شما 🛒', text: 'Hi   \n\n\n', html: `<p>${'x'.repeat(200)}</p>\n.\n` }), NOW);
    const signed = signMessage(raw, [parseDkimKey(rsa.privateKeyPem, 'shop.example', 'rsa2026'), parseDkimKey(ed.privateKeyPem, 'shop.example', 'ed2026')], NOW);
    const result = await dkimVerify(signed, { resolver, curTime: new Date(NOW + 1000) });
    expect(result.results.map((r) => r.status.result)).toEqual(['pass', 'pass']);
  });
});

describe('rfc5322Date', () => {
  it('writes UTC dates the way RFC 5322 §3.3 spells them', () => {
    expect(rfc5322Date(NOW)).toBe('Fri, 27 Nov 2026 10:00:00 +0000');
    expect(rfc5322Date(Date.parse('2027-01-03T04:05:06Z'))).toBe('Sun, 3 Jan 2027 04:05:06 +0000');
  });
});

describe('quotedPrintable', () => {
  it('escapes =, non-ASCII, blanks before a line end, and a dot or "From " opening a line; never splits an escape', () => {
    expect(quotedPrintable('a=b é \nx\t').toString()).toBe('a=3Db =C3=A9=20\r\nx=09');
    expect(quotedPrintable('.\nFrom x\nFrom').toString()).toBe('=2E\r\n=46rom x\r\nFrom');
    const long = quotedPrintable('é'.repeat(100)).toString().split('\r\n');
    for (const line of long) expect(line).toMatch(/^(=[0-9A-F]{2})*=?$/);
  });

  it('keeps every rule of RFC 2045 §6.7 and decodes back to the text, for 10,000 awkward texts', () => {
    // Pieces that meet at line ends, the 76-character limit and line starts in every order.
    const pieces = ['a', ' ', '\t', '\r', '\n', '\r\n', '.', 'F', 'From ', 'Fro', '=', '\x00', '\x01', '\x7f', 'é', '€', 'ش', '😀', '\ud800', '\udc00', 'x'.repeat(70), 'y'.repeat(73), '     '];
    let seed = 2026;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let t = 0; t < 10_000; t++) {
      let text = '';
      for (let k = random(40); k > 0; k--) text += pieces[random(pieces.length)];
      const qp = quotedPrintable(text).toString('latin1');
      const lines = qp.split('\r\n');
      for (const line of lines) {
        expect(line.length, JSON.stringify(text)).toBeLessThanOrEqual(76);
        expect(line, JSON.stringify(text)).toMatch(/^([\x21-\x3c\x3e-\x7e \t]|=[0-9A-F]{2})*=?$/);
        expect(line, JSON.stringify(text)).not.toMatch(/[ \t]$|^\.|^From /);
      }
      // A soft break never splits a character: no line opens with a UTF-8 continuation byte.
      expect(qp, JSON.stringify(text)).not.toMatch(/=\r\n=[89AB][0-9A-F]/);
      const decoded = Buffer.from(qp.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
      expect(decoded.equals(Buffer.from(text.replace(/\r\n|\r|\n/g, '\r\n'))), JSON.stringify(text)).toBe(true);
    }
  });
});
