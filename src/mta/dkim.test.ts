import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canUseNetns, startDnsSandbox } from '../../test/helpers/netns.ts';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import MailComposer from 'nodemailer/lib/mail-composer';
import { canonicalBodyRelaxed, dkimDnsValue, generateDkimKey, parseDkimKey, signMessage, signMessageAsync, withCrlf } from './dkim.ts';

const rsa = await generateDkimKey('rsa-sha256');
const ed = await generateDkimKey('ed25519-sha256');
const rsaKey = parseDkimKey(rsa.privateKeyPem, 'shop.example', 'rsa2026');
const edKey = parseDkimKey(ed.privateKeyPem, 'shop.example', 'ed2026');

// A declarative zone for mailauth's injected resolver.
const zone: Record<string, string> = { 'rsa2026._domainkey.shop.example': rsa.dnsValue, 'ed2026._domainkey.shop.example': ed.dnsValue };
const resolver = async (name: string, type: string) => {
  if (type === 'TXT' && zone[name]) return [[zone[name]!]];
  throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
};

async function message(extraHeaders: Record<string, string> = {}): Promise<Buffer> {
  return new MailComposer({
    from: { name: 'Kaveh Shop', address: 'news@shop.example' },
    to: 'sara@example.com',
    subject: 'سبد خرید شما منتظر است — your cart',
    text: 'Hi Sara,   trailing spaces   \r\n\r\n\r\n',
    html: '<p>Hi <b>Sara</b></p>',
    date: new Date('2026-11-27T10:00:00Z'),
    messageId: '<m1@shop.example>',
    headers: { 'List-Unsubscribe': { prepared: true, value: '<https://mail.shop.example/u/1.n.m1.x>, <mailto:unsubscribe+1.n.m1.x@b.shop.example>' }, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click', 'Feedback-ID': 'c1:t1:marketing:kaveh', ...extraHeaders },
  }).compile().build();
}

describe('DKIM signing', () => {
  it('signs alike on the thread pool (RSA PKCS#1 v1.5 and Ed25519 are deterministic), into a buffer of its own', async () => {
    const m = await message();
    const now = Date.parse('2026-11-27T10:00:01Z');
    const sync = signMessage(m, [rsaKey, edKey], now);
    const pooled = await Promise.all(Array.from({ length: 8 }, () => signMessageAsync(m, [rsaKey, edKey], now)));
    for (const p of pooled) expect(p.equals(sync)).toBe(true);
    expect(pooled[0]!.byteOffset === 0 && pooled[0]!.byteLength === pooled[0]!.buffer.byteLength).toBe(true);
    expect(await signMessageAsync(m, [], now)).toBe(m);
  });

  it('produces RSA-2048 and Ed25519 signatures that mailauth verifies', async () => {
    const signed = signMessage(await message(), [rsaKey, edKey], Date.parse('2026-11-27T10:00:01Z'));
    const result = await dkimVerify(signed, { resolver, curTime: new Date('2026-11-27T10:00:02Z') });
    const statuses = result.results.map((r) => [(r as unknown as { selector: string }).selector, r.status.result]);
    expect(statuses).toEqual([['rsa2026', 'pass'], ['ed2026', 'pass']]);
    const header = signed.toString().split('\r\n\r\n')[0]!;
    expect(header).toMatch(/a=rsa-sha256; c=relaxed\/relaxed; d=shop\.example; s=rsa2026; t=1795773601/);
    expect(header).toMatch(/a=ed25519-sha256/);
    const h = /h=([^;]+);/.exec(header.replace(/\r\n\t/g, ' '))![1]!.trim();
    expect(h).toBe('from:to:subject:date:message-id:mime-version:content-type:list-unsubscribe:list-unsubscribe-post:feedback-id:from');
  });

  it('fails verification when the body, a signed header, or an added From changes', async () => {
    const signed = signMessage(await message(), [rsaKey], Date.now()).toString('binary');
    for (const tampered of [signed.replace('Hi Sara', 'Hi Evil'), signed.replace('Subject:', 'Subject: FREE'), signed.replace('From:', 'From: evil@evil.example\r\nFrom:')]) {
      const result = await dkimVerify(Buffer.from(tampered, 'binary'), { resolver });
      expect(result.results[0]!.status.result).not.toBe('pass');
    }
  });

  it('survives re-folding of headers and whitespace changes in transit (relaxed)', async () => {
    const signed = signMessage(await message(), [rsaKey, edKey], Date.now()).toString('binary');
    const refolded = signed.replace('Subject: ', 'Subject:    ').replace(/^(To: .*)$/m, '$1  ');
    const result = await dkimVerify(Buffer.from(refolded, 'binary'), { resolver });
    expect(result.results.map((r) => r.status.result)).toEqual(['pass', 'pass']);
  });

  it('signs the CRLF form of a message with bare LF line ends, and returns that form', async () => {
    const lf = Buffer.from((await message()).toString('binary').replace(/\r\n/g, '\n'), 'binary');
    const signed = signMessage(lf, [rsaKey, edKey], Date.now());
    expect(signed.toString('binary')).not.toMatch(/[^\r]\n/);
    const result = await dkimVerify(signed, { resolver });
    expect(result.results.map((r) => r.status.result)).toEqual(['pass', 'pass']);
    expect(withCrlf(Buffer.from('\na\r\nb\nc\n')).toString()).toBe('\r\na\r\nb\r\nc\r\n');
    const crlf = Buffer.from('a\r\nb\r\n');
    expect(withCrlf(crlf)).toBe(crlf);
  });

  it('canonicalises bodies as RFC 6376 3.4.4 says', () => {
    expect(canonicalBodyRelaxed(Buffer.from('')).toString()).toBe('');
    expect(canonicalBodyRelaxed(Buffer.from('\r\n\r\n')).toString()).toBe('');
    expect(canonicalBodyRelaxed(Buffer.from(' C \r\nD \t E\r\n\r\n\r\n')).toString()).toBe(' C\r\nD E\r\n');
    expect(canonicalBodyRelaxed(Buffer.from('no newline')).toString()).toBe('no newline\r\n');
    expect(canonicalBodyRelaxed(Buffer.from(' \r\n \t\r\n')).toString()).toBe('');
    expect(canonicalBodyRelaxed(Buffer.from('a\r\n \r\nb \r\n\t\r\n')).toString()).toBe('a\r\n\r\nb\r\n');
    expect(canonicalBodyRelaxed(Buffer.from('x\ry \r\nend\r\n ')).toString()).toBe('x\ry\r\nend\r\n');
  });

  it('refuses weak or unsupported keys and publishes the right DNS value', () => {
    expect(() => parseDkimKey('not a key', 'd', 's')).toThrow(/not a readable, unencrypted PEM private key/);
    const huge = readFileSync(new URL('../../test/fixtures/dkim/rsa-4104.pem', import.meta.url), 'utf8');
    expect(() => parseDkimKey(huge, 'd', 's')).toThrow(/4104 bits; DKIM keys above 4096 bits are not accepted/);
    expect(dkimDnsValue(edKey)).toBe(ed.dnsValue);
    expect(dkimDnsValue(rsaKey)).toBe(rsa.dnsValue);
    expect(ed.dnsValue).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
  });
});

describe('DKIM signatures checked by OpenDKIM', () => {
  const tool = '/usr/sbin/opendkim-testmsg';
  const ready = existsSync(tool) && canUseNetns();
  if (!ready) console.log(`[dkim] OpenDKIM check SKIPPED: needs ${tool} (apt-get install opendkim-tools) and root for a network namespace with a loopback DNS server.`);

  it.skipIf(!ready)('opendkim-testmsg verifies RSA and Ed25519 signatures against a loopback DNS server', async () => {
    const dns = await startDnsSandbox(zone);
    try {
      const good = signMessage(await message(), [rsaKey], Date.now());
      const ok = dns.run([tool], good);
      expect({ status: ok.status, out: ok.stdout + ok.stderr }).toEqual({ status: 0, out: '' });
      const bad = dns.run([tool], Buffer.from(good.toString('binary').replace('Hi Sara', 'Hi Evil'), 'binary'));
      expect(bad.status).not.toBe(0);
      console.log('[dkim] opendkim-testmsg on a tampered body:', (bad.stdout + bad.stderr).trim());
      const edOnly = dns.run([tool], signMessage(await message(), [edKey], Date.now()));
      expect({ status: edOnly.status, out: edOnly.stdout + edOnly.stderr }).toEqual({ status: 0, out: '' });
      expect(bad.stdout + bad.stderr).toMatch(/body hash|signature|verif/i);
    } finally {
      dns.close();
    }
  });
});
