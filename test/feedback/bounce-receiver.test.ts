import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRecipient, startBounceReceiver, type BounceReceiver } from '../../src/adapters/feedback/bounce-receiver.ts';
import { bounceMailSink } from '../../src/services/bounce-mail.ts';
import { updateStoreSettings } from '../../src/services/store-settings.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { sentMessage, suppressionReasons } from '../helpers/feedback.ts';

// The bounce receiver over real SMTP on loopback, storing into a real database per dialect.

const DOMAIN = 'bounces.shop.example';
const fixture = (name: string) => readFileSync(new URL(`../fixtures/bounces/${name}`, import.meta.url));

/** A Postfix-style DSN for one of our messages, as the MTA would send it to the VERP address. */
function postfixDsn(verp: string, recipient: string, ref: string, status = '5.1.1', diagnostic = `550 5.1.1 <${recipient}>: Recipient address rejected: User unknown`): Buffer {
  return Buffer.from(
    [
      'From: MAILER-DAEMON@mta.shop.example (Mail Delivery System)',
      `To: ${verp}`,
      'Subject: Undelivered Mail Returned to Sender',
      `Message-Id: <dsn-${ref}-${status}@mta.shop.example>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      '',
      '--B',
      'Content-Type: text/plain',
      '',
      `<${recipient}>: host mx.example.com said: ${diagnostic}`,
      '',
      '--B',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mta.shop.example',
      '',
      `Final-Recipient: rfc822; ${recipient}`,
      'Action: failed',
      `Status: ${status}`,
      `Diagnostic-Code: smtp; ${diagnostic}`,
      '',
      '--B',
      'Content-Type: text/rfc822-headers',
      '',
      'From: Shop <news@shop.example>',
      `To: ${recipient}`,
      `Message-ID: <${ref}@shop.example>`,
      '',
      '--B--',
      '',
    ].join('\r\n'),
  );
}

/** The server's EHLO reply, over a raw socket. */
function ehloOf(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let text = '';
    let greeted = false;
    const s = connect(port, '127.0.0.1');
    s.on('data', (d) => {
      text += d.toString();
      if (!greeted && /^220 /m.test(text)) {
        greeted = true;
        text = '';
        s.write('EHLO test.example\r\n');
      } else if (greeted && /^250 /m.test(text)) {
        s.end('QUIT\r\n');
        resolve(text);
      }
    });
    s.on('error', reject);
  });
}

describe('checkRecipient', () => {
  const valid = (t: string) => t === 'good-token';
  it('takes feedback and valid unsubscribe addresses at our domains only', () => {
    expect(checkRecipient('bounces+abc-123@Bounces.Shop.Example', [DOMAIN], valid)).toEqual({ ok: true, kind: 'feedback' });
    expect(checkRecipient('postmaster@bounces.shop.example', [DOMAIN], valid)).toEqual({ ok: true, kind: 'feedback' });
    expect(checkRecipient('unsubscribe+good-token@bounces.shop.example', [DOMAIN], valid)).toEqual({ ok: true, kind: 'unsubscribe' });
    expect(checkRecipient('unsubscribe+bad-token@bounces.shop.example', [DOMAIN], valid)).toMatchObject({ ok: false, code: 550, message: expect.stringMatching(/^5\.1\.1/) });
    expect(checkRecipient('info@bounces.shop.example', [DOMAIN], valid)).toMatchObject({ ok: false, message: expect.stringMatching(/^5\.1\.1/) });
    expect(checkRecipient('bounces+abc@gmail.example', [DOMAIN], valid)).toMatchObject({ ok: false, message: expect.stringMatching(/^5\.7\.1 Relay access denied/) });
    expect(checkRecipient('no-at-sign', [DOMAIN], valid)).toMatchObject({ ok: false, message: expect.stringMatching(/^5\.7\.1/) });
  });
});

describe.each(DIALECTS)('bounce receiver on %s', (dialect) => {
  let t: TestApp;
  let receiver: BounceReceiver;
  let smtp: Transporter;
  const send = (to: string | string[], raw: Buffer | string, from = '') => smtp.sendMail({ envelope: { from, to }, raw });
  const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (err: { responseCode?: number; response?: string }) => `${err.responseCode} ${err.response}`);
  const unmatched = () => t.db.k.selectFrom('unmatchedFeedback').selectAll().orderBy('id').execute();
  const eventsOf = (ref: string) => t.db.k.selectFrom('events').selectAll().where('messageRef', '=', ref).execute();
  const statusOf = async (id: number) => (await t.db.k.selectFrom('messages').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    await updateStoreSettings(t.app.ctx, { sendingDomain: 'shop.example', bounceDomain: DOMAIN });
    receiver = await startBounceReceiver(bounceMailSink(t.app.ctx), { host: '127.0.0.1', port: 0 });
    smtp = nodemailer.createTransport({ host: '127.0.0.1', port: receiver.port, secure: false, ignoreTLS: true, pool: false });
  });
  afterAll(async () => {
    smtp?.close();
    await receiver?.close();
    await t?.close();
  });

  it('offers neither AUTH nor STARTTLS without a certificate, and STARTTLS with one', async () => {
    const plain = await ehloOf(receiver.port);
    expect(plain).toMatch(/^250[ -]/m);
    expect(plain).not.toMatch(/AUTH|STARTTLS/);
    const tlsDir = new URL('../fixtures/tls/', import.meta.url);
    const secure = await startBounceReceiver(bounceMailSink(t.app.ctx), { host: '127.0.0.1', port: 0, tls: { key: readFileSync(new URL('localhost.key', tlsDir)), cert: readFileSync(new URL('localhost.crt', tlsDir)) } });
    try {
      const ehlo = await ehloOf(secure.port);
      expect(ehlo).toMatch(/STARTTLS/);
      expect(ehlo).not.toMatch(/AUTH/);
      const client = nodemailer.createTransport({ host: '127.0.0.1', port: secure.port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false } });
      expect((await client.sendMail({ envelope: { from: '', to: `bounces@${DOMAIN}` }, raw: fixture('not-bounce-spam.eml') })).response).toMatch(/^250/);
      client.close();
    } finally {
      await secure.close();
    }
  });

  it('refuses other domains (no open relay) and unknown local parts, storing nothing', async () => {
    const before = (await unmatched()).length;
    expect(await refusal(send('someone@gmail.example', postfixDsn('x', 'y@example.com', 'mih7q2k0aaaaaaaaaaaaaaaa')))).toMatch(/^550 550 5\.7\.1 Relay access denied/);
    expect(await refusal(send(`info@${DOMAIN}`, 'Subject: hi\r\n\r\nhello\r\n'))).toMatch(/^550 550 5\.1\.1/);
    expect(await refusal(send(`unsubscribe+1.*.mih7q2k0aaaaaaaaaaaaaaaa.AAAAAAAAAAAAAAAAAAAAAA@${DOMAIN}`, 'Subject: unsubscribe\r\n\r\n', 'reader@example.com'))).toMatch(/^550 550 5\.1\.1/);
    expect((await unmatched()).length).toBe(before);
  });

  it('turns a DSN for a known message into a hard bounce: message bounced, address suppressed, once', async () => {
    const m = await sentMessage(t);
    const other = await sentMessage(t);
    const verp = t.app.ctx.composer.urls.verpAddress(m.ref, DOMAIN);
    const dsn = postfixDsn(verp, m.email, m.ref);
    expect(await send(verp, dsn)).toMatchObject({ response: expect.stringMatching(/^250 2\.0\.0/) });
    expect(await statusOf(m.id)).toBe('bounced');
    expect(await suppressionReasons(t, m.email)).toEqual(['hard_bounce']);
    await send(verp, dsn);
    expect((await eventsOf(m.ref)).filter((e) => e.type === 'email_bounced')).toEqual([expect.objectContaining({ source: 'bounce_receiver', reason: 'user_unknown' })]);
    // Nobody else is touched.
    expect(await statusOf(other.id)).toBe('sent');
    expect(await suppressionReasons(t, other.email)).toEqual([]);
  });

  it('does not suppress for a policy block or a delay', async () => {
    const m = await sentMessage(t);
    const verp = t.app.ctx.composer.urls.verpAddress(m.ref, DOMAIN);
    await send(verp, postfixDsn(verp, m.email, m.ref, '5.7.1', '554 5.7.1 Client host [203.0.113.9] blocked using zen.spamhaus.org'));
    expect(await suppressionReasons(t, m.email)).toEqual([]);
    expect((await eventsOf(m.ref)).map((e) => [e.type, e.reason])).toContainEqual(['email_bounced', 'reputation']);
  });

  it('keeps a bounce for an unknown message, and mail it cannot read, as unmatched (still answering 250)', async () => {
    const before = (await unmatched()).length;
    expect(await send(`bounces@${DOMAIN}`, fixture('unknown-message-bounce.eml'))).toMatchObject({ response: expect.stringMatching(/^250/) });
    expect(await send(`bounces@${DOMAIN}`, fixture('malformed-garbage.eml'))).toMatchObject({ response: expect.stringMatching(/^250/) });
    expect(await send(`postmaster@${DOMAIN}`, fixture('malformed-truncated.eml'))).toMatchObject({ response: expect.stringMatching(/^250/) });
    const rows = (await unmatched()).slice(before);
    expect(rows.map((r) => [r.type, r.why])).toEqual([
      ['bounced', 'no message matches Message-ID <invoice-8812@otherco.example>'],
      ['unrecognised', 'neither a delivery report (DSN), a feedback report (ARF) nor an auto-reply'],
      ['dsn', expect.stringMatching(/MIME: a multipart\/report part is not closed .*; unknown Action "fa" for cut\.off@example\.org/)],
    ]);
    expect(rows.every((r) => r.source === 'bounce_receiver' && r.raw !== null && r.raw.length < 400)).toBe(true);
  });

  it('records an ARF complaint and an auto-reply from the corpus against their messages', async () => {
    const m = await sentMessage(t);
    const verp = t.app.ctx.composer.urls.verpAddress(m.ref, DOMAIN);
    const arf = fixture('arf-generic-headers-only.eml').toString().replace(/mih7q2k0[0-9a-f]{16}-[0-9a-f]{10}/g, verp.slice(8, verp.indexOf('@'))).replace(/mih7q2k0[0-9a-f]{16}/g, m.ref);
    await send(`fbl@${DOMAIN}`, arf);
    expect(await statusOf(m.id)).toBe('complained');
    expect(await suppressionReasons(t, m.email)).toEqual(['complaint']);

    const n = await sentMessage(t);
    const auto = fixture('autoreply-rfc3834.eml').toString().replace(/mih7q2k0[0-9a-f]{16}-[0-9a-f]{10}/g, t.app.ctx.composer.urls.verpAddress(n.ref, DOMAIN).slice(8, -DOMAIN.length - 1)).replace(/mih7q2k0[0-9a-f]{16}/g, n.ref);
    await send(t.app.ctx.composer.urls.verpAddress(n.ref, DOMAIN), auto);
    expect((await eventsOf(n.ref)).map((e) => e.type)).toContain('email_auto_reply');
    expect(await statusOf(n.id)).toBe('sent');
    expect(await suppressionReasons(t, n.email)).toEqual([]);
  });

  it('unsubscribes through the List-Unsubscribe mailto: address', async () => {
    const m = await sentMessage(t);
    const token = t.app.ctx.composer.urls.token({ contactId: m.contactId, topicKey: null, messageRef: m.ref });
    expect(await send(`unsubscribe+${token}@${DOMAIN}`, `From: ${m.email}\r\nSubject: unsubscribe\r\n\r\n`, m.email)).toMatchObject({ response: expect.stringMatching(/^250/) });
    expect(await suppressionReasons(t, m.email)).toEqual(['unsubscribe_all']);
    const log = await t.db.k.selectFrom('consentLog').selectAll().where('contactId', '=', m.contactId).where('action', '=', 'unsubscribe').execute();
    expect(log.map((l) => l.source)).toEqual(['unsubscribe_mailto', 'unsubscribe_mailto']);
    expect(log[0]!.ip).toBe('127.0.0.1');
  });

  it('refuses a message over 10 MB with 552 5.3.4 and stores nothing', async () => {
    const before = { unmatched: (await unmatched()).length, events: (await t.db.k.selectFrom('events').select('id').execute()).length };
    const line = `${'x'.repeat(998)}\r\n`;
    const big = `From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail\r\n\r\n${line.repeat(10_600)}`;
    expect(await refusal(send(`bounces@${DOMAIN}`, big))).toMatch(/^552 552 5\.3\.4/);
    expect((await unmatched()).length).toBe(before.unmatched);
    expect((await t.db.k.selectFrom('events').select('id').execute()).length).toBe(before.events);
  });

  it('limits new connections per IP address', async () => {
    const limited = await startBounceReceiver(bounceMailSink(t.app.ctx), { host: '127.0.0.1', port: 0, connectionsPerMinute: 2 });
    try {
      const verify = () => nodemailer.createTransport({ host: '127.0.0.1', port: limited.port, secure: false, ignoreTLS: true }).verify().then(() => 'ok', (err: { responseCode?: number }) => String(err.responseCode));
      expect([await verify(), await verify(), await verify()]).toEqual(['ok', 'ok', '421']);
    } finally {
      await limited.close();
    }
  });
});
