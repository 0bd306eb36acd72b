import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpTransport, type SmtpTransportConfig } from '../../src/adapters/transports/smtp.ts';
import { AppError } from '../../src/lib/errors.ts';
import type { MailTransport, OutgoingMail, SendResult } from '../../src/ports/mail-transport.ts';
import { startSmtpPeer, type PeerBehaviour, type SmtpPeer } from '../helpers/smtp-peer.ts';

const CA = readFileSync(new URL('../fixtures/tls/localhost.crt', import.meta.url), 'utf8');

/** A signed-looking message: CRLF lines, 8-bit UTF-8, a line starting with a dot (dot-stuffing). */
function rawMessage(id: string, extraBody = ''): Buffer {
  return Buffer.from(
    [
      'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=shop.test; s=s1; h=from:to:subject;',
      ' bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA',
      'From: Shop <news@shop.test>',
      'To: <anna@example.test>',
      'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
      'Date: Fri, 27 Nov 2026 08:00:00 +0000',
      `Message-ID: <${id}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Grüße aus dem Laden.',
      '.a line that starts with a dot',
      '..and one with two',
      extraBody,
      '',
    ].join('\r\n'),
    'utf8',
  );
}

let seq = 0;
function outgoing(opts: { to?: string; extraBody?: string } = {}): OutgoingMail {
  const id = `m${++seq}.${randomBytes(4).toString('hex')}@shop.test`;
  const to = opts.to ?? 'anna@example.test';
  return {
    messageRef: id,
    envelope: { from: `bounce+${seq}@bounces.shop.test`, to },
    raw: rawMessage(id, opts.extraBody),
    stream: 'marketing',
    parts: { messageId: id, from: { name: 'Shop', address: 'news@shop.test' }, replyTo: null, to, subject: 'Grüße', html: '', text: '', headers: [] },
    tags: {},
  };
}

function config(peer: { port: number }, over: Partial<SmtpTransportConfig> = {}): SmtpTransportConfig {
  return { host: '127.0.0.1', port: peer.port, secure: false, starttls: 'opportunistic', name: 'mta1.shop.test', ...over };
}

const open: Array<{ close(): Promise<void> }> = [];
async function peerWith(options: Parameters<typeof startSmtpPeer>[0] = {}): Promise<SmtpPeer> {
  const peer = await startSmtpPeer(options);
  open.push(peer);
  return peer;
}
function transportWith(c: SmtpTransportConfig): MailTransport {
  const t = createSmtpTransport(c);
  open.unshift(t); // transports close before their peers
  return t;
}
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

describe('SMTP transport: delivery', () => {
  it('delivers the raw message byte for byte with our envelope, and reports the queue id', async () => {
    const peer = await peerWith();
    const t = transportWith(config(peer));
    const mail = outgoing();
    const result = await t.send(mail);

    expect(peer.received).toHaveLength(1);
    const got = peer.received[0]!;
    expect(got.raw.equals(mail.raw)).toBe(true);
    expect(got.envelope).toEqual({ from: mail.envelope.from, to: [mail.envelope.to] });
    expect(result).toEqual({ status: 'sent', providerMessageId: got.queueId, response: `250 2.0.0 Ok: queued as ${got.queueId}` });
  });

  it('sends 200 messages over at most 4 connections, each message exactly once', async () => {
    const peer = await peerWith();
    const t = transportWith(config(peer, { maxConnections: 4 }));
    const mails = Array.from({ length: 200 }, () => outgoing());
    const results = await Promise.all(mails.map((m) => t.send(m)));

    expect(results.every((r) => r.status === 'sent')).toBe(true);
    expect(peer.received).toHaveLength(200);
    for (const m of mails) expect(peer.countOf(m.parts.messageId)).toBe(1);
    expect(peer.maxOpenSessions).toBeLessThanOrEqual(4);
  });

  it('replaces a connection after maxMessagesPerConnection messages', async () => {
    const peer = await peerWith();
    const t = transportWith(config(peer, { maxConnections: 1, maxMessagesPerConnection: 10 }));
    const results = await Promise.all(Array.from({ length: 25 }, () => t.send(outgoing())));

    expect(results.every((r) => r.status === 'sent')).toBe(true);
    const perSession = new Map<string, number>();
    for (const m of peer.received) perSession.set(m.session.id, (perSession.get(m.session.id) ?? 0) + 1);
    expect(perSession.size).toBe(3);
    expect(Math.max(...perSession.values())).toBe(10);
  });

  it('sends from the configured local address', async () => {
    const peer = await peerWith();
    const t = transportWith(config(peer, { localAddress: '127.0.0.2' }));
    expect((await t.send(outgoing())).status).toBe('sent');
    expect(peer.received[0]!.session.remoteAddress).toBe('127.0.0.2');
  });

  it('fails, without sending, an envelope address that is not one bare address (no smuggled recipients)', async () => {
    const peer = await peerWith();
    const t = transportWith(config(peer));
    const bad = ['anna@example.test>\r\nRCPT TO:<eve@evil.test', 'anna@example.test, eve@evil.test', 'Anna <anna@example.test>', 'anna@example.test\r\nDATA', '', 'no-at-sign'];
    for (const to of bad) {
      const result = await t.send(outgoing({ to }));
      expect(result.status).toBe('failed');
      expect(result.response).toMatch(/^message not sendable: envelope\.to .* is not one address/);
      expect(result.response).not.toMatch(/[\r\n]/);
    }
    const fromSmuggled = { ...outgoing(), envelope: { from: 'b@shop.test>\r\nRCPT TO:<eve@evil.test', to: 'anna@example.test' } };
    expect((await t.send(fromSmuggled)).response).toMatch(/^message not sendable: envelope\.from/);
    expect(peer.received).toHaveLength(0);
    // Internationalised addresses (SMTPUTF8) are single addresses too.
    expect((await t.send(outgoing({ to: 'jürgen@bücher.example' }))).status).toBe('sent');
    expect(peer.received[0]!.envelope.to).toHaveLength(1);
  });

  it('refuses to send after close()', async () => {
    const peer = await peerWith();
    const t = createSmtpTransport(config(peer));
    expect((await t.send(outgoing())).status).toBe('sent');
    await t.close();
    expect(await t.send(outgoing())).toEqual({ status: 'deferred', response: 'transport closed before the message was sent' });
  });
});

describe('SMTP transport: faults', () => {
  let peer: SmtpPeer;
  let t: MailTransport;
  // One pool for every case: each fault must leave it able to deliver the next message.
  beforeAll(async () => {
    peer = await startSmtpPeer();
    t = createSmtpTransport(config(peer, { maxConnections: 2, socketTimeoutMs: 500, greetingTimeoutMs: 150 }));
  });
  afterAll(async () => {
    await t.close();
    await peer.close();
  });

  const big = 'x'.repeat(998) + '\r\n';
  const cases: Array<{ name: string; behaviour: PeerBehaviour; extraBody?: string; expected: Partial<SendResult>; text?: RegExp }> = [
    { name: '421 4.7.0 at RCPT', behaviour: { kind: 'reply', at: 'rcpt', code: 421, text: '4.7.0 throttled, try later' }, expected: { status: 'deferred', code: 421, enhanced: '4.7.0' } },
    { name: '451 4.3.0 at RCPT', behaviour: { kind: 'reply', at: 'rcpt', code: 451, text: '4.3.0 local error' }, expected: { status: 'deferred', code: 451, enhanced: '4.3.0' } },
    { name: '450 4.2.1 at RCPT', behaviour: { kind: 'reply', at: 'rcpt', code: 450, text: '4.2.1 mailbox busy' }, expected: { status: 'deferred', code: 450, enhanced: '4.2.1' } },
    { name: '550 5.1.1 at RCPT', behaviour: { kind: 'reply', at: 'rcpt', code: 550, text: '5.1.1 No such user' }, expected: { status: 'failed', code: 550, enhanced: '5.1.1' }, text: /^550 5\.1\.1 No such user \(at RCPT TO\)$/ },
    { name: '421 4.7.0 after DATA', behaviour: { kind: 'reply', at: 'data', code: 421, text: '4.7.0 throttled' }, expected: { status: 'deferred', code: 421, enhanced: '4.7.0' } },
    { name: '451 4.3.0 after DATA', behaviour: { kind: 'reply', at: 'data', code: 451, text: '4.3.0 try again' }, expected: { status: 'deferred', code: 451, enhanced: '4.3.0' } },
    { name: '552 5.2.2 after DATA', behaviour: { kind: 'reply', at: 'data', code: 552, text: '5.2.2 mailbox full' }, expected: { status: 'failed', code: 552, enhanced: '5.2.2' } },
    { name: '554 5.7.1 after DATA', behaviour: { kind: 'reply', at: 'data', code: 554, text: '5.7.1 rejected as spam' }, expected: { status: 'failed', code: 554, enhanced: '5.7.1' } },
    { name: 'close after the whole message, before the reply', behaviour: { kind: 'close-mid-data' }, expected: { status: 'deferred' }, text: /(closed|reset) by 127\.0\.0\.1:\d+ before it answered the message/ },
    { name: 'close in the middle of a 2 MB message', behaviour: { kind: 'close-mid-data', afterBytes: 64 * 1024 }, extraBody: big.repeat(2000), expected: { status: 'deferred' }, text: /before it answered/ },
    { name: 'stall at RCPT', behaviour: { kind: 'stall', at: 'rcpt' }, expected: { status: 'deferred' }, text: /stopped answering for 500 ms/ },
    { name: 'stall after DATA', behaviour: { kind: 'stall', at: 'data' }, expected: { status: 'deferred' }, text: /stopped answering for 500 ms/ },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.expected.status}, then the pool delivers the next message`, async () => {
      const faulty = outgoing({ to: 'faulty@example.test', extraBody: c.extraBody });
      peer.setBehaviour(({ to }) => (to === 'faulty@example.test' ? c.behaviour : { kind: 'accept' }));
      const result = await t.send(faulty);
      expect(result).toMatchObject(c.expected);
      if (result.status === 'deferred' && !('code' in c.expected)) {
        expect(result.code).toBeUndefined();
        expect(result.enhanced).toBeUndefined();
      }
      if (c.text) expect(result.response).toMatch(c.text);
      expect(peer.countOf(faulty.parts.messageId)).toBe(0);

      const next = outgoing();
      expect((await t.send(next)).status).toBe('sent');
      expect(peer.countOf(next.parts.messageId)).toBe(1);
    });
  }

  it('a greeting of 421 4.7.0 → deferred with code and enhanced status', async () => {
    peer.setGreeting({ kind: 'refuse', code: 421, text: '4.7.0 too many connections from your IP' });
    peer.dropConnections(); // the pool must open a new session to meet the refusal
    try {
      expect(await t.send(outgoing())).toMatchObject({ status: 'deferred', code: 421, enhanced: '4.7.0' });
    } finally {
      peer.setGreeting({ kind: 'greet' });
    }
    expect((await t.send(outgoing())).status).toBe('sent');
  });

  it('no greeting at all → deferred after the greeting timeout', async () => {
    peer.setGreeting({ kind: 'stall' });
    peer.dropConnections();
    try {
      const result = await t.send(outgoing());
      expect(result).toEqual({ status: 'deferred', response: `no greeting from 127.0.0.1:${peer.port} within 150 ms` });
    } finally {
      peer.setGreeting({ kind: 'greet' });
    }
    expect((await t.send(outgoing())).status).toBe('sent');
  });

  it('connections the server dropped while idle are replaced, and the next message goes out once', async () => {
    peer.setBehaviour(() => ({ kind: 'accept' }));
    expect((await t.send(outgoing())).status).toBe('sent');
    peer.dropConnections();
    const next = outgoing();
    expect((await t.send(next)).status).toBe('sent');
    expect(peer.countOf(next.parts.messageId)).toBe(1);
  });

  it('connection refused → deferred', async () => {
    const port = await closedPort();
    const refused = createSmtpTransport(config({ port }));
    try {
      expect(await refused.send(outgoing())).toEqual({ status: 'deferred', response: `connection refused by 127.0.0.1:${port}` });
    } finally {
      await refused.close();
    }
  });
});

describe('SMTP transport: TLS', () => {
  it("starttls 'require' against a server without STARTTLS → deferred, nothing sent", async () => {
    const peer = await peerWith();
    const t = transportWith(config(peer, { starttls: 'require' }));
    const result = await t.send(outgoing());
    expect(result.status).toBe('deferred');
    expect(result.response).toMatch(/refused STARTTLS, which this transport requires/);
    expect(peer.received).toHaveLength(0);
  });

  it("starttls 'require' with STARTTLS → delivered over TLS", async () => {
    const peer = await peerWith({ starttls: true });
    const t = transportWith(config(peer, { starttls: 'require', tls: { ca: CA, servername: 'localhost' } }));
    expect((await t.send(outgoing())).status).toBe('sent');
    expect(peer.received[0]!.session.secure).toBe(true);
  });

  it("starttls 'opportunistic' with rejectUnauthorized: true refuses a certificate that does not verify", async () => {
    const peer = await peerWith({ starttls: true });
    const t = transportWith(config(peer, { tls: { rejectUnauthorized: true } }));
    expect((await t.send(outgoing())).response).toMatch(/^TLS with 127\.0\.0\.1:\d+ failed: .*SELF_SIGNED/);
    expect(peer.received).toHaveLength(0);
  });

  it("a certificate that does not verify under starttls 'require' → deferred, nothing sent", async () => {
    const peer = await peerWith({ starttls: true });
    const t = transportWith(config(peer, { starttls: 'require' }));
    const result = await t.send(outgoing());
    expect(result.status).toBe('deferred');
    expect(result.response).toMatch(/^TLS with 127\.0\.0\.1:\d+ failed: .*SELF_SIGNED/);
    expect(peer.received).toHaveLength(0);
  });

  it("starttls 'opportunistic' upgrades when offered (even to an unverifiable certificate) and sends in clear text when not", async () => {
    const plain = await peerWith();
    const tls = await peerWith({ starttls: true });
    const tPlain = transportWith(config(plain));
    const tTls = transportWith(config(tls));
    expect((await tPlain.send(outgoing())).status).toBe('sent');
    expect((await tTls.send(outgoing())).status).toBe('sent');
    expect(plain.received[0]!.session.secure).toBe(false);
    expect(tls.received[0]!.session.secure).toBe(true);
  });

  it('implicit TLS (secure: true)', async () => {
    const peer = await peerWith({ implicitTls: true });
    const t = transportWith(config(peer, { secure: true, tls: { ca: CA, servername: 'localhost' } }));
    expect((await t.send(outgoing())).status).toBe('sent');
    expect(peer.received[0]!.session.secure).toBe(true);
  });
});

describe('SMTP transport: AUTH', () => {
  const pass = 'Correct-Horse-42';
  const tlsOver = { starttls: 'require' as const, tls: { ca: CA, servername: 'localhost' } };

  it('authenticates with the right password (PLAIN, and LOGIN when that is all the server offers)', async () => {
    const plainPeer = await peerWith({ starttls: true, auth: { user: 'chapar', pass } });
    const loginPeer = await peerWith({ starttls: true, auth: { user: 'chapar', pass, methods: ['LOGIN'] } });
    for (const peer of [plainPeer, loginPeer]) {
      const t = transportWith(config(peer, { ...tlsOver, auth: { user: 'chapar', pass } }));
      expect((await t.send(outgoing())).status).toBe('sent');
      expect(peer.received[0]!.session.user).toBe('chapar');
    }
  });

  it('a wrong password → deferred, and the result never contains the password', async () => {
    const wrong = 'Wrong-Horse-43';
    for (const methods of [['PLAIN'], ['LOGIN']] as const) {
      const peer = await peerWith({ starttls: true, auth: { user: 'chapar', pass, methods: [...methods] } });
      const t = transportWith(config(peer, { ...tlsOver, auth: { user: 'chapar', pass: wrong } }));
      const result = await t.send(outgoing());
      expect(result.status).toBe('deferred');
      expect(result.response).toMatch(/^authentication to 127\.0\.0\.1:\d+ as "chapar" failed: 535 5\.7\.8/);
      const text = JSON.stringify(result);
      for (const secret of [wrong, Buffer.from(wrong).toString('base64'), Buffer.from(`\u0000chapar\u0000${wrong}`).toString('base64')]) {
        expect(text).not.toContain(secret);
      }
      expect(peer.received).toHaveLength(0);
    }
  });
});

describe('SMTP transport: settings', () => {
  it('a server that wants AUTH from a transport without credentials → deferred (settings, not the message)', async () => {
    const peer = await peerWith({ auth: { user: 'chapar', pass: 'Correct-Horse-42' } });
    const t = transportWith(config(peer));
    const result = await t.send(outgoing());
    expect(result.status).toBe('deferred');
    expect(result.response).toMatch(/requires authentication or TLS first, check the transport's auth and starttls settings: 530 /);
    expect(peer.received).toHaveLength(0);
  });

  const base: SmtpTransportConfig = { host: 'mx.example.test', port: 25, secure: false, starttls: 'require', name: 'mta1.shop.test' };
  const bad: Array<[string, Partial<SmtpTransportConfig> | Record<string, unknown>]> = [
    ['smtp.port', { port: 0 }],
    ['smtp.port', { port: 70000 }],
    ['smtp.host', { host: '' }],
    ['smtp.starttls', { starttls: 'maybe' }],
    ['smtp.name', { name: 'not a host name' }],
    ['smtp.localAddress', { localAddress: 'eth0' }],
    ['smtp.maxConnections', { maxConnections: 0 }],
    ['smtp.socketTimeoutMs', { socketTimeoutMs: -1 }],
    ['smtp.auth.pass', { auth: { user: 'u', pass: '' } }],
    ['smtp.starttls', { starttls: 'opportunistic', auth: { user: 'u', pass: 'Secret-Pass-1' } }],
  ];
  for (const [field, over] of bad) {
    it(`rejects ${JSON.stringify(over)} naming ${field}`, () => {
      let caught: unknown;
      try {
        createSmtpTransport({ ...base, ...over } as SmtpTransportConfig);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(AppError);
      const err = caught as AppError;
      expect(err.code).toBe('config_invalid');
      expect(err.details[0]!.field).toBe(field);
      expect(err.message).not.toContain('Secret-Pass-1');
    });
  }

  it('allows auth without TLS to a loopback host (a local submission port)', () => {
    const t = createSmtpTransport({ ...base, host: '127.0.0.1', starttls: 'opportunistic', auth: { user: 'u', pass: 'p' } });
    return t.close();
  });
});

// A port nothing listens on: bind one, then let it go.
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
