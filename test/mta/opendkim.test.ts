import { existsSync } from 'node:fs';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDkimSigner, type DkimSigner } from '../../src/services/dkim-signer.ts';
import { renderTemplate } from '../../src/services/templates.ts';
import { buildMime } from '../../src/templates/compose.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { canUseNetns, startDnsSandbox } from '../helpers/netns.ts';

// The check, end to end: a real marketing message (starter template, Persian contact,
// List-Unsubscribe, Feedback-ID) signed by the delivery engine's signer with an RSA-2048 and an
// Ed25519 key made through the API, then verified by OpenDKIM's opendkim-testmsg and by mailauth.
//
// opendkim-testmsg has no option for a local key file: it asks DNS. So it runs in a network
// namespace whose resolver is our DNS server on loopback, serving the records the API said to
// publish. OpenDKIM 2.11 (Debian's opendkim-tools) verifies Ed25519-SHA256 as well as RSA-SHA256,
// and exits 0 when ANY signature passes; to show each signature verifies on its own, the test
// also serves a wrong record for one key at a time, and checks that wrong records for both fail.

const TOOL = '/usr/sbin/opendkim-testmsg';
const ready = existsSync(TOOL) && canUseNetns();
if (!ready) console.log(`[opendkim] SKIPPED: needs ${TOOL} (apt-get install opendkim-tools) and root for a network namespace with a loopback DNS server.`);

describe('a composed message signed with both keys, verified by opendkim-testmsg and mailauth', () => {
  let t: TestApp;
  let signed: Buffer;
  let unsigned: Buffer;
  let signer: DkimSigner;
  const records: Record<string, string> = {};
  // Published records of two other keys, to serve in place of the real ones.
  const wrong: Record<'rsa' | 'ed', string> = { rsa: '', ed: '' };
  let rsaName = '';
  let edName = '';

  beforeAll(async () => {
    t = await createTestApp('sqlite', { CHAPAR_PUBLIC_URL: 'https://mail.kaveh.example' });
    await t.request({ method: 'PATCH', url: '/api/v1/settings/store', body: { name: 'Kaveh', url: 'https://kaveh.example', address: 'Kaveh Shop\n12 Vali-e Asr St\nTehran 1234567890, Iran', supportEmail: 'help@kaveh.example', sendingDomain: 'kaveh.example', bounceDomain: 'bounces.kaveh.example', feedbackSenderId: 'kaveh' } });
    expect((await t.request({ method: 'POST', url: '/api/v1/templates/starters', body: { keys: ['abandoned-cart-1'] } })).status).toBe(200);
    const contact = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'maryam@example.ir', firstName: 'مریم', locale: 'fa-IR', topics: { newsletter: 'subscribed' } } });
    const { message } = await renderTemplate(t.app.ctx, 'abandoned-cart-1', { contactId: contact.json.id });
    const raw = await buildMime(message, t.clock.now());

    const rsa = await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'kaveh.example', selector: 'rsa2026' } });
    const ed = await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'kaveh.example', selector: 'ed2026', algorithm: 'ed25519-sha256' } });
    for (const k of [rsa.json, ed.json]) records[k.dnsName] = k.dnsValue;
    rsaName = rsa.json.dnsName;
    edName = ed.json.dnsName;
    wrong.rsa = (await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'elsewhere.example', selector: 'x' } })).json.dnsValue;
    wrong.ed = (await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'elsewhere.example', selector: 'y', algorithm: 'ed25519-sha256' } })).json.dnsValue;

    const from = /^From: .*<[^@>]+@([^>]+)>\r$/m.exec(raw.toString())![1]!;
    expect(from).toBe('kaveh.example');
    signer = await createDkimSigner(t.app.ctx);
    // OpenDKIM refuses a t= in its future ("Unable to verify"), so sign at the real time; the
    // test clock's fixed date may lie ahead of this machine's.
    t.clock.set(Date.now());
    unsigned = raw;
    signed = await signer.sign(raw, from);
  });
  afterAll(async () => t?.close());

  /** Runs opendkim-testmsg on a message against a zone; returns its exit status and output. */
  async function opendkim(message: Buffer, zone: Record<string, string>) {
    const dns = await startDnsSandbox(zone);
    try {
      const r = dns.run([TOOL], message);
      return { status: r.status, out: (r.stdout + r.stderr).trim() };
    } finally {
      dns.close();
    }
  }
  const tamper = (from: string, to: string) => {
    const text = signed.toString('binary');
    expect(text).toContain(from);
    return Buffer.from(text.replace(from, to), 'binary');
  };

  it('signs every header the issue lists, over CRLF line ends only', () => {
    // MailComposer's quoted-printable text part keeps bare LFs; the signer turns them into the
    // CRLFs SMTP will send, or the body hash would be of bytes no receiver sees.
    expect(/[^\r]\n/.test(signed.toString('binary'))).toBe(false);
    const head = signed.toString('binary').split('\r\n\r\n')[0]!.replace(/\r\n\t/g, ' ');
    const sigs = head.split('\r\n').filter((l) => l.startsWith('DKIM-Signature:'));
    expect(sigs.map((s) => /a=([^;]+)/.exec(s)![1])).toEqual(['rsa-sha256', 'ed25519-sha256']);
    for (const s of sigs) {
      expect(s).toContain('c=relaxed/relaxed; d=kaveh.example');
      expect(/h=([^;]+)/.exec(s)![1]!.trim()).toBe('from:to:subject:date:message-id:reply-to:mime-version:content-type:list-unsubscribe:list-unsubscribe-post:feedback-id:from');
    }
  });

  it.skipIf(!ready)('opendkim-testmsg verifies the message, and each signature on its own', async () => {
    expect(await opendkim(signed, records)).toEqual({ status: 0, out: '' });
    // Only the Ed25519 signature can pass, then only the RSA one: OpenDKIM accepts each.
    expect(await opendkim(signed, { ...records, [rsaName]: wrong.rsa })).toEqual({ status: 0, out: '' });
    expect(await opendkim(signed, { ...records, [edName]: wrong.ed })).toEqual({ status: 0, out: '' });
    const neither = await opendkim(signed, { [rsaName]: wrong.rsa, [edName]: wrong.ed });
    expect(neither.status).not.toBe(0);
    expect(neither.out).toMatch(/bad signature/i);
  });

  it.skipIf(!ready)('opendkim-testmsg fails a changed body, a changed signed header, and an added From', async () => {
    // The body's first line of text (after the part headers), with one letter changed.
    const text = signed.toString('binary');
    const bodyStart = text.indexOf('\r\n\r\n', text.indexOf('\r\n\r\n') + 4) + 4;
    const changedBody = Buffer.from(text.slice(0, bodyStart) + text.slice(bodyStart).replace('Kaveh', 'Kavex'), 'binary');
    expect(changedBody.equals(signed)).toBe(false);
    const cases: [string, Buffer, RegExp][] = [
      ['body', changedBody, /Bad signature/],
      ['subject', tamper('\r\nSubject: ', '\r\nSubject: Re: '), /Bad signature/],
      ['one-click header', tamper('List-Unsubscribe=One-Click', 'List-Unsubscribe=Two-Click'), /Bad signature/],
      // A second From fails before any signature is looked at: OpenDKIM rejects the message itself.
      ['added From', tamper('\r\nFrom: ', '\r\nFrom: <evil@evil.example>\r\nFrom: '), /Syntax error/],
    ];
    for (const [what, changed, reason] of cases) {
      const r = await opendkim(changed, records);
      expect({ what, failed: r.status !== 0, out: r.out }).toEqual({ what, failed: true, out: expect.stringMatching(reason) });
    }
  });

  it.skipIf(!ready)('opendkim-testmsg refuses a signature dated in its future (the sending host needs a set clock)', async () => {
    t.clock.set(Date.now() + 2 * 3600_000);
    const ahead = await signer.sign(unsigned, 'kaveh.example');
    t.clock.set(Date.now());
    const r = await opendkim(ahead, records);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/unable to verify/i);
  });

  it.skipIf(!ready)('opendkim-testmsg still passes after what relays do: a Received header added, a signed header re-folded', async () => {
    const relayed = Buffer.concat([Buffer.from('Received: from mta.kaveh.example by mx.example.ir; Fri, 27 Nov 2026 10:00:02 +0000\r\n'), tamper('\r\nSubject: ', '\r\nSubject:\r\n   ')]);
    expect(await opendkim(relayed, records)).toEqual({ status: 0, out: '' });
  });

  it('mailauth verifies both signatures of the same message', async () => {
    const resolver = async (name: string, type: string) => {
      if (type === 'TXT' && records[name]) return [[records[name]!]];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    const result = await dkimVerify(signed, { resolver });
    expect(result.results.map((r) => [(r as unknown as { selector: string }).selector, r.status.result])).toEqual([['rsa2026', 'pass'], ['ed2026', 'pass']]);
  });
});
