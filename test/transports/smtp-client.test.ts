import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpTransport, type SmtpTransportConfig } from '../../src/adapters/transports/smtp.ts';
import type { MailTransport, OutgoingMail } from '../../src/ports/mail-transport.ts';
import { startSmtpPeer } from '../helpers/smtp-peer.ts';
import { startScriptedPeer, type ScriptedPeerOptions, type ScriptedSession } from './scripted-smtp-peer.ts';

// What the hand-written SMTP client does on the wire: dot-stuffing, pipelining, the MAIL FROM
// parameters, replies of many lines or many segments, and which broken sessions may resend.

let seq = 0;
function mail(raw: string | Buffer, to = 'anna@example.test'): OutgoingMail {
  seq++;
  return {
    messageRef: `m${seq}`,
    envelope: { from: `bounce+${seq}@bounces.shop.test`, to },
    raw: typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw,
    stream: 'transactional',
    parts: { messageId: `m${seq}@shop.test`, from: { name: '', address: 'news@shop.test' }, replyTo: null, to, subject: '', html: '', text: '', headers: [] },
    tags: {},
  };
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

// One connection unless a test says otherwise; a stuck exchange fails the test in 5 s, not 10 min.
function transport(port: number, over: Partial<SmtpTransportConfig> = {}): MailTransport {
  const t = createSmtpTransport({ host: '127.0.0.1', port, secure: false, starttls: 'opportunistic', name: 'mta1.shop.test', maxConnections: 1, socketTimeoutMs: 5000, ...over });
  open.unshift(t); // transports close before their peers
  return t;
}

async function scripted(options: ScriptedPeerOptions = {}) {
  const peer = await startScriptedPeer(options);
  open.push(peer);
  return peer;
}

/** A real smtp-server on loopback that keeps each message and the MAIL FROM parameters it came with. */
async function smtpServer(options: Partial<SMTPServerOptions> = {}) {
  const received: Array<{ raw: Buffer; args: Record<string, unknown> }> = [];
  let args: Record<string, unknown> = {};
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    size: 10 * 1024 * 1024,
    onMailFrom(address, _session, callback) {
      args = (address.args || {}) as Record<string, unknown>;
      callback();
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ raw: Buffer.concat(chunks), args });
        callback(null, 'Ok: queued as S1');
      });
    },
    ...options,
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  open.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  return { port, received };
}

const commands = (s: ScriptedSession) => s.transcript.filter((l) => l.startsWith('C: ')).map((l) => l.slice(3));

describe('SMTP client: dot-stuffing', () => {
  it('doubles every dot that begins a line, the first byte included, and the server reads the message back unchanged', async () => {
    const peer = await scripted({ extensions: ['PIPELINING'] });
    const t = transport(peer.port);
    const raw = '.a\r\nb\r\n.\r\n..c\r\nd.\r\n';
    expect((await t.send(mail(raw))).status).toBe('sent');
    const s = peer.sessions[0]!;
    expect(s.wire[0]!.toString()).toBe('..a\r\nb\r\n..\r\n...c\r\nd.\r\n.\r\n');
    expect(s.messages[0]!.toString()).toBe(raw);
  });

  it('a "\\r\\n.\\r\\n" inside the body does not end the message early', async () => {
    const peer = await scripted({ extensions: ['PIPELINING'] });
    const t = transport(peer.port);
    const raw = 'Subject: x\r\n\r\nbefore\r\n.\r\nafter\r\n';
    const next = 'Subject: y\r\n\r\nnext\r\n';
    expect((await t.send(mail(raw))).status).toBe('sent');
    expect((await t.send(mail(next))).status).toBe('sent');
    const s = peer.sessions[0]!;
    expect(s.wire[0]!.toString()).toBe('Subject: x\r\n\r\nbefore\r\n..\r\nafter\r\n.\r\n');
    expect(s.messages.map((m) => m.toString())).toEqual([raw, next]);
    expect(commands(s).filter((c) => c.startsWith('MAIL FROM'))).toHaveLength(2);
  });

  it('a message that does not end in CRLF gets one before the final dot (also when its last line is a dot)', async () => {
    const peer = await scripted({ extensions: ['PIPELINING'] });
    const t = transport(peer.port);
    expect((await t.send(mail('Subject: x\r\n\r\nno line break at the end'))).status).toBe('sent');
    expect((await t.send(mail('Subject: x\r\n\r\nthe last line is a dot\r\n.'))).status).toBe('sent');
    const s = peer.sessions[0]!;
    expect(s.wire.map((w) => w.toString())).toEqual(['Subject: x\r\n\r\nno line break at the end\r\n.\r\n', 'Subject: x\r\n\r\nthe last line is a dot\r\n..\r\n.\r\n']);
    expect(s.messages[0]!.toString()).toBe('Subject: x\r\n\r\nno line break at the end\r\n');
  });

  it("smtp-server reads back byte for byte a 2 MB message with 20,000 lines that start with a dot", async () => {
    const peer = await startSmtpPeer();
    open.push(peer);
    const t = transport(peer.port);
    const body = Array.from({ length: 20_000 }, (_, i) => (i % 3 === 0 ? '.' : i % 3 === 1 ? '..' : '.\r\n.') + 'x'.repeat(90)).join('\r\n');
    const m = mail(`Message-ID: <dots@shop.test>\r\n\r\n${body}\r\n`);
    expect((await t.send(m)).status).toBe('sent');
    expect(peer.received[0]!.raw.equals(m.raw)).toBe(true);
  });
});

describe('SMTP client: pipelining', () => {
  it('with PIPELINING, MAIL FROM, RCPT TO and DATA go out together (this peer answers MAIL only once DATA has come)', async () => {
    const peer = await scripted({ extensions: ['PIPELINING'] });
    const t = transport(peer.port);
    expect((await t.send(mail('Subject: 1\r\n\r\none\r\n'))).status).toBe('sent');
    expect((await t.send(mail('Subject: 2\r\n\r\ntwo\r\n'))).status).toBe('sent');
    const transcript = peer.sessions[0]!.transcript;
    const first = transcript.findIndex((l) => l.startsWith('C: MAIL FROM'));
    expect(transcript.slice(first, first + 6).map((l) => l.slice(0, 7))).toEqual(['C: MAIL', 'C: RCPT', 'C: DATA', 'S: 250 ', 'S: 250 ', 'S: 354 ']);
  });

  it('without PIPELINING, each command waits for the reply to the one before', async () => {
    const peer = await scripted({ extensions: ['8BITMIME'] });
    const t = transport(peer.port);
    for (let i = 0; i < 3; i++) expect((await t.send(mail(`Subject: ${i}\r\n\r\nbody\r\n`))).status).toBe('sent');
    const s = peer.sessions[0]!;
    expect(s.earlyCommands).toBe(0);
    expect(s.messages).toHaveLength(3);
  });

  for (const hidePIPELINING of [false, true]) {
    it(`delivers to smtp-server ${hidePIPELINING ? 'without' : 'with'} PIPELINING offered`, async () => {
      const server = await smtpServer({ hidePIPELINING });
      const t = transport(server.port, { maxConnections: 2 });
      const mails = Array.from({ length: 20 }, (_, i) => mail(`Subject: ${i}\r\n\r\n.body ${i}\r\n`));
      const results = await Promise.all(mails.map((m) => t.send(m)));
      expect(results.every((r) => r.status === 'sent')).toBe(true);
      expect(server.received.map((r) => r.raw.toString()).sort()).toEqual(mails.map((m) => m.raw.toString()).sort());
    });
  }

  it('a refused recipient in a pipelined batch: failed, RSET, and the next message goes over the same session', async () => {
    const peer = await scripted({
      extensions: ['PIPELINING'],
      answer: (cmd) => (cmd.startsWith('RCPT TO:<nobody@') ? ['550 5.1.1 No such user'] : undefined),
    });
    const t = transport(peer.port);
    expect(await t.send(mail('Subject: x\r\n\r\nx\r\n', 'nobody@example.test'))).toEqual({ status: 'failed', response: '550 5.1.1 No such user (at RCPT TO)', code: 550, enhanced: '5.1.1' });
    expect((await t.send(mail('Subject: y\r\n\r\ny\r\n'))).status).toBe('sent');
    expect(peer.sessions).toHaveLength(1);
    const s = peer.sessions[0]!;
    expect(commands(s).slice(1, 5)).toEqual(['MAIL FROM:<bounce+' + (seq - 1) + '@bounces.shop.test>', 'RCPT TO:<nobody@example.test>', 'DATA', 'RSET']);
    expect(s.transcript).toContain('S: 554 5.5.1 Error: no valid recipients');
    expect(s.messages).toHaveLength(1);
  });

  it('a sender refused with 451 → deferred at MAIL FROM; the session is reset and reused', async () => {
    const peer = await scripted({ extensions: ['PIPELINING'], answer: (cmd) => (cmd.includes('<late+') ? ['451 4.7.1 Try again later'] : undefined) });
    const t = transport(peer.port);
    const m = { ...mail('Subject: x\r\n\r\nx\r\n'), envelope: { from: 'late+1@bounces.shop.test', to: 'anna@example.test' } };
    expect(await t.send(m)).toEqual({ status: 'deferred', response: '451 4.7.1 Try again later (at MAIL FROM)', code: 451, enhanced: '4.7.1' });
    expect((await t.send(mail('Subject: y\r\n\r\ny\r\n'))).status).toBe('sent');
    expect(peer.sessions).toHaveLength(1);
    expect(commands(peer.sessions[0]!)).toContain('RSET');
  });

  it('a server that answers 354 although the recipient was refused gets an empty message, and nothing is delivered', async () => {
    const peer = await scripted({
      extensions: ['PIPELINING'],
      answer: (cmd) => (cmd.startsWith('RCPT TO:<nobody@') ? ['550 5.1.1 No such user'] : cmd === 'DATA' ? ['354 go ahead'] : undefined),
      afterData: (s) => (s.wire.at(-1)!.toString() === '.\r\n' ? ['554 5.5.1 no valid recipients'] : ['250 2.0.0 Ok: queued as Q1']),
    });
    const t = transport(peer.port);
    expect(await t.send(mail('Subject: x\r\n\r\nsecret\r\n', 'nobody@example.test'))).toMatchObject({ status: 'failed', code: 550 });
    expect(peer.sessions[0]!.wire.map((w) => w.toString())).toEqual(['.\r\n']);
    expect((await t.send(mail('Subject: y\r\n\r\ny\r\n'))).status).toBe('sent');
  });
});

describe('SMTP client: MAIL FROM parameters', () => {
  const eightBit = 'Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n';
  const ascii = 'Subject: x\r\n\r\nhello\r\n';

  it('BODY=8BITMIME for a message with 8-bit bytes when offered, not for a 7-bit one, nor to a server without 8BITMIME', async () => {
    const offered = await scripted({ extensions: ['PIPELINING', '8BITMIME'] });
    const t = transport(offered.port);
    expect((await t.send(mail(eightBit))).status).toBe('sent');
    expect((await t.send(mail(ascii))).status).toBe('sent');
    const mailFrom = commands(offered.sessions[0]!).filter((c) => c.startsWith('MAIL FROM'));
    expect(mailFrom[0]).toMatch(/^MAIL FROM:<[^>]+> BODY=8BITMIME$/);
    expect(mailFrom[1]).toMatch(/^MAIL FROM:<[^>]+>$/);

    const without = await scripted({ extensions: ['PIPELINING'] });
    const t2 = transport(without.port);
    expect((await t2.send(mail(eightBit))).status).toBe('sent');
    expect(commands(without.sessions[0]!).find((c) => c.startsWith('MAIL FROM'))).toMatch(/^MAIL FROM:<[^>]+>$/);
    expect(without.sessions[0]!.messages[0]!.equals(Buffer.from(eightBit))).toBe(true);
  });

  it('smtp-server sees BODY=8BITMIME and the 8-bit bytes unchanged', async () => {
    const server = await smtpServer();
    const t = transport(server.port);
    expect((await t.send(mail(eightBit))).status).toBe('sent');
    expect(server.received[0]!.args.BODY).toBe('8BITMIME');
    expect(server.received[0]!.raw.toString('utf8')).toBe(eightBit);
  });

  it('SMTPUTF8 for an internationalised address when offered; failed, with nothing sent, when not', async () => {
    const offered = await scripted({ extensions: ['PIPELINING', 'SMTPUTF8'] });
    const t = transport(offered.port);
    expect((await t.send(mail(ascii, 'jürgen@bücher.example'))).status).toBe('sent');
    expect(commands(offered.sessions[0]!)).toContain('RCPT TO:<jürgen@bücher.example>');
    expect(commands(offered.sessions[0]!).find((c) => c.startsWith('MAIL FROM'))).toMatch(/ SMTPUTF8$/);

    const without = await scripted({ extensions: ['PIPELINING'] });
    const t2 = transport(without.port);
    const result = await t2.send(mail(ascii, 'jürgen@bücher.example'));
    expect(result).toEqual({ status: 'failed', response: `message not sendable: 127.0.0.1:${without.port} does not offer SMTPUTF8, which the address jürgen@bücher.example needs` });
    expect(commands(without.sessions[0]!).some((c) => c.startsWith('MAIL'))).toBe(false);
    expect((await t2.send(mail(ascii))).status).toBe('sent');
  });

  it('SIZE: declared when offered; a message over the limit is failed before a byte of it leaves', async () => {
    const peer = await scripted({ extensions: ['PIPELINING', 'SIZE 1000'] });
    const t = transport(peer.port);
    expect((await t.send(mail(ascii))).status).toBe('sent');
    expect(commands(peer.sessions[0]!).find((c) => c.startsWith('MAIL FROM'))).toMatch(new RegExp(` SIZE=${Buffer.byteLength(ascii)}$`));
    const big = await t.send(mail(`Subject: big\r\n\r\n${'x'.repeat(2000)}\r\n`));
    expect(big).toEqual({ status: 'failed', response: `message not sendable: the message is 2018 bytes, more than the 1000 that 127.0.0.1:${peer.port} accepts (SIZE)` });
    expect(peer.sessions[0]!.messages).toHaveLength(1);
  });
});

describe('SMTP client: replies', () => {
  it('multi-line greeting, EHLO and final reply; the queue id is found on any line', async () => {
    const peer = await scripted({
      extensions: ['PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES'],
      greeting: ['220-scripted.test ESMTP', '220-no UCE', '220 welcome'],
      afterData: () => ['250-2.0.0 Message accepted', '250 2.0.0 Ok: queued as 7QH2K9'],
    });
    const t = transport(peer.port);
    expect(await t.send(mail('Subject: x\r\n\r\nx\r\n'))).toEqual({ status: 'sent', providerMessageId: '7QH2K9', response: '250-2.0.0 Message accepted / 250 2.0.0 Ok: queued as 7QH2K9' });
  });

  it('a refusal of three lines keeps every line, its code and its enhanced status', async () => {
    const gmail = ['550-5.1.1 The email account that you tried to reach does not exist. Please try', '550-5.1.1 double-checking the recipient\'s email address for typos or', '550 5.1.1 unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser'];
    const peer = await scripted({ extensions: ['PIPELINING'], answer: (cmd) => (cmd.startsWith('RCPT') ? gmail : undefined) });
    const t = transport(peer.port);
    const result = await t.send(mail('Subject: x\r\n\r\nx\r\n'));
    expect(result).toEqual({ status: 'failed', response: `${gmail.join(' / ')} (at RCPT TO)`, code: 550, enhanced: '5.1.1' });
  });

  it('replies split across TCP segments in the middle of a line', async () => {
    const peer = await scripted({ extensions: ['PIPELINING', 'SIZE 100000'], greeting: ['220-scripted.test', '220 ready'], splitReplies: true });
    const t = transport(peer.port);
    expect((await t.send(mail('Subject: x\r\n\r\nx\r\n'))).status).toBe('sent');
    expect((await t.send(mail('Subject: y\r\n\r\ny\r\n'))).status).toBe('sent');
  });

  it('an enhanced status of another class than the reply code is not taken', async () => {
    const peer = await scripted({ extensions: ['PIPELINING'], answer: (cmd) => (cmd.startsWith('RCPT') ? ['550 4.1.1 odd server'] : undefined) });
    const t = transport(peer.port);
    expect(await t.send(mail('Subject: x\r\n\r\nx\r\n'))).toEqual({ status: 'failed', response: '550 4.1.1 odd server (at RCPT TO)', code: 550 });
  });

  it('a server that does not know EHLO: HELO, and no pipelining', async () => {
    const peer = await scripted({ ehlo: 'unknown', extensions: ['PIPELINING'] });
    const t = transport(peer.port);
    expect((await t.send(mail('Subject: x\r\n\r\nx\r\n'))).status).toBe('sent');
    expect(commands(peer.sessions[0]!).slice(0, 3)).toEqual(['EHLO mta1.shop.test', 'HELO mta1.shop.test', expect.stringMatching(/^MAIL FROM:<[^>]+>$/)]);
  });

  it('a line that is not an SMTP reply → deferred, the SMTP protocol was broken', async () => {
    const peer = await scripted({ extensions: ['PIPELINING'], answer: (cmd) => (cmd.startsWith('RCPT') ? ['HTTP/1.1 400 Bad Request'] : undefined) });
    const t = transport(peer.port);
    expect(await t.send(mail('Subject: x\r\n\r\nx\r\n'))).toEqual({ status: 'deferred', response: `127.0.0.1:${peer.port} broke the SMTP protocol at RCPT TO: not an SMTP reply: "HTTP/1.1 400 Bad Request"` });
  });

  it('no answer to EHLO → deferred after the socket timeout, naming the step', async () => {
    const peer = await scripted({ answer: (cmd) => (cmd.startsWith('EHLO') ? 'silence' : undefined) });
    const t = transport(peer.port, { socketTimeoutMs: 200 });
    expect(await t.send(mail('Subject: x\r\n\r\nx\r\n'))).toEqual({ status: 'deferred', response: `127.0.0.1:${peer.port} stopped answering for 200 ms (socket timeout) at EHLO` });
  });
});

describe('SMTP client: sessions', () => {
  const rcptsTo = (sessions: ScriptedSession[], to: string) => sessions.flatMap(commands).filter((c) => c === `RCPT TO:<${to}>`).length;

  it('says QUIT when the transport closes', async () => {
    const peer = await scripted({ extensions: ['PIPELINING'] });
    const t = createSmtpTransport({ host: '127.0.0.1', port: peer.port, secure: false, starttls: 'opportunistic', name: 'mta1.shop.test' });
    expect((await t.send(mail('Subject: x\r\n\r\nx\r\n'))).status).toBe('sent');
    await t.close();
    expect(commands(peer.sessions[0]!).at(-1)).toBe('QUIT');
  });

  it('a session that breaks after the server answered part of the transaction: deferred, never sent again', async () => {
    const peer = await scripted({ extensions: ['PIPELINING'], afterData: (s) => (s.messages.at(-1)!.toString().includes('victim') ? 'drop' : ['250 2.0.0 Ok: queued as Q1']) });
    const t = transport(peer.port);
    expect((await t.send(mail('Subject: a\r\n\r\na\r\n'))).status).toBe('sent');
    const result = await t.send(mail('Subject: victim\r\n\r\nvictim\r\n', 'victim@example.test'));
    expect(result).toEqual({ status: 'deferred', response: `connection closed by 127.0.0.1:${peer.port} before it answered the message` });
    expect(rcptsTo(peer.sessions, 'victim@example.test')).toBe(1);
    expect((await t.send(mail('Subject: b\r\n\r\nb\r\n'))).status).toBe('sent');
  });

  it('a reused session that breaks before any reply to the message is retried once, on a fresh session, and no more', async () => {
    const peer = await scripted({ extensions: ['PIPELINING'], answer: (cmd) => (cmd === 'RCPT TO:<drop@example.test>' ? 'drop' : undefined) });
    const t = transport(peer.port);
    expect((await t.send(mail('Subject: a\r\n\r\na\r\n'))).status).toBe('sent');
    const result = await t.send(mail('Subject: d\r\n\r\nd\r\n', 'drop@example.test'));
    expect(result.status).toBe('deferred');
    expect(result.response).toMatch(/^connection (closed|reset) by 127\.0\.0\.1:\d+ before it answered the message/);
    // Once on the reused session, once on a fresh one that broke the same way: no third try.
    expect(rcptsTo(peer.sessions, 'drop@example.test')).toBe(2);
    expect(peer.sessions).toHaveLength(2);
    expect((await t.send(mail('Subject: b\r\n\r\nb\r\n'))).status).toBe('sent');
  });

  it('the first message of a fresh session is not retried when the session breaks', async () => {
    const peer = await scripted({ extensions: ['PIPELINING'], answer: (cmd) => (cmd === 'RCPT TO:<drop@example.test>' ? 'drop' : undefined) });
    const t = transport(peer.port);
    expect((await t.send(mail('Subject: d\r\n\r\nd\r\n', 'drop@example.test'))).status).toBe('deferred');
    expect(rcptsTo(peer.sessions, 'drop@example.test')).toBe(1);
  });
});
