import { describe, expect, it } from 'vitest';
import { parseDeliveryStatus } from './delivery-status.ts';
import { parseFeedbackMail } from './feedback-mail.ts';
import { addressOfField, decodeEncodedWords, messageIdIn } from './header-fields.ts';
import { readMime, textOf } from './mime-parts.ts';

// Bad and odd input for the bounce parser; the realistic messages are in test/feedback/bounce-corpus.test.ts.

const VERP = 'bounces+mih7q2k0aaaaaaaaaaaaaaaa-0123456789@bounces.shop.example';
const opts = { readVerp: (a: string) => (a.toLowerCase() === VERP ? 'mih7q2k0aaaaaaaaaaaaaaaa' : null), receivedAt: 1_000 };

function dsn(statusPart: string, opts2: { to?: string; messageId?: string; extra?: string } = {}): Buffer {
  return Buffer.from(
    [
      'From: MAILER-DAEMON@mx.example.net',
      ...(opts2.to === undefined ? [`To: ${VERP}`] : opts2.to ? [`To: ${opts2.to}`] : []),
      ...(opts2.messageId ? [`Message-ID: ${opts2.messageId}`] : []),
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'Delivery failed.',
      '--b',
      'Content-Type: message/delivery-status',
      '',
      statusPart,
      opts2.extra ?? '',
      '--b--',
      '',
    ].join('\r\n'),
  );
}

describe('delivery-status fields', () => {
  it('unfolds lines, drops address types and reads recipient groups in any field order', () => {
    const s = parseDeliveryStatus(
      'Reporting-MTA: dns; mx.example.net\n\nAction: failed\nFinal-Recipient: RFC822; <Jane@Example.NET>\nStatus: 5.1.1 (bad mailbox)\nDiagnostic-Code: smtp; 550 5.1.1\n  <jane@example.net>: no such user\n\nFinal-Recipient: x400; CN=Someone\nAction: Delayed\n',
    );
    expect(s.message?.get('reporting-mta')).toBe('dns; mx.example.net');
    expect(s.recipients).toEqual([
      { originalRecipient: null, finalRecipient: 'Jane@example.net', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 <jane@example.net>: no such user', diagnosticType: 'smtp', remoteMta: null },
      { originalRecipient: null, finalRecipient: null, action: 'delayed', status: null, diagnostic: null, diagnosticType: null, remoteMta: null },
    ]);
  });

  it('reads addresses and Message-IDs out of header values', () => {
    expect(addressOfField('rfc822;bob@example.org')).toBe('bob@example.org');
    expect(addressOfField('utf-8; bob@example.org')).toBe('bob@example.org');
    expect(addressOfField('x400; C=de;A=x')).toBeNull();
    expect(addressOfField('rfc822; not an address')).toBeNull();
    expect(messageIdIn('  <a.b@c.example> (comment)')).toBe('<a.b@c.example>');
    expect(messageIdIn('a.b@c.example')).toBe('<a.b@c.example>');
    expect(messageIdIn('nonsense')).toBeNull();
    expect(decodeEncodedWords('=?utf-8?Q?Automatische_Antwort?= =?iso-8859-1?B?/A==?=')).toBe('Automatische Antwortü');
    expect(decodeEncodedWords('=?x-unknown?Q?abc?=')).toBe('=?x-unknown?Q?abc?=');
  });
});

describe('MIME reading', () => {
  it('walks nested multiparts and undoes base64 and quoted-printable in their charsets', () => {
    const raw = Buffer.from(
      'Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/alternative; boundary="in ner"\n\n--in ner\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nM=FCller =\nsagt hallo\n--in ner--\n--outer\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n8J+RiyBoaQ==\n--outer--\n',
    );
    const tree = readMime(raw);
    expect(tree.problems).toEqual([]);
    expect(tree.leaves.map((p) => textOf(p))).toEqual(['Müller sagt hallo', '👋 hi']);
  });

  it('reports a missing or absent boundary and an unclosed multipart instead of failing', () => {
    expect(readMime(Buffer.from('Content-Type: multipart/report\n\nbody')).problems).toEqual(['a multipart/report part has no boundary parameter']);
    expect(readMime(Buffer.from('Content-Type: multipart/report; boundary=zz\n\nbody')).problems[0]).toMatch(/never occurs/);
    expect(readMime(Buffer.from('Content-Type: multipart/mixed; boundary=zz\n\n--zz\n\nhello')).problems).toEqual(['a multipart/mixed part is not closed (truncated message?)']);
  });

  it('stops at a nesting depth limit', () => {
    let body = 'innermost';
    for (let i = 0; i < 20; i++) body = `Content-Type: multipart/mixed; boundary=b${i}\n\n--b${i}\n${body}\n--b${i}--\n`;
    expect(readMime(Buffer.from(body)).problems.some((p) => /nesting deeper/.test(p))).toBe(true);
  });
});

describe('parsing received mail: bad input', () => {
  it('calls an empty message what it is', () => {
    expect(parseFeedbackMail(Buffer.alloc(0), opts)).toMatchObject({ kind: 'unrecognised', events: [], problems: ['the message is empty'] });
    expect(parseFeedbackMail(Buffer.from('\r\n\r\n  \r\n'), opts).problems).toEqual(['the message is empty']);
  });

  it('names a DSN without recipients, an unknown Action and a group without any address', () => {
    expect(parseFeedbackMail(dsn('Reporting-MTA: dns; mx.example.net\n'), opts)).toMatchObject({ kind: 'dsn', events: [], problems: ['no recipient in the DSN (no Final-Recipient or Action fields)'] });
    expect(parseFeedbackMail(dsn('Final-Recipient: rfc822; a@example.net\nAction: exploded\nStatus: 5.0.0\n'), opts).problems).toEqual(['unknown Action "exploded" for a@example.net']);
    const noAddress = parseFeedbackMail(dsn('Final-Recipient: x400; CN=A\nAction: failed\nStatus: 5.1.1\n', { to: '' }), opts);
    expect(noAddress.events).toEqual([]);
    expect(noAddress.problems).toEqual(['a recipient group names no rfc822 address and the message cannot be found otherwise']);
  });

  it('takes the VERP ref from the envelope when the headers have none, and guesses no Action from a 2.x status', () => {
    const got = parseFeedbackMail(dsn('Final-Recipient: rfc822; a@example.net\nStatus: 5.1.1\n\nFinal-Recipient: rfc822; b@example.net\nStatus: 2.0.0\n', { to: '' }), { ...opts, envelopeTo: [VERP.toUpperCase()] });
    expect(got.events.map((e) => [e.type, e.locator.messageRef, e.locator.recipient])).toEqual([['bounced', 'mih7q2k0aaaaaaaaaaaaaaaa', 'a@example.net']]);
    expect(got.problems).toEqual(['no Action or Status for b@example.net']);
  });

  it('ids a report without a Message-ID by a hash of its bytes, the same for the same bytes', () => {
    const raw = dsn('Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n');
    const a = parseFeedbackMail(raw, opts).events[0]!.sourceEventId;
    expect(a).toMatch(/^sha256:[0-9a-f]{32}\/a@example\.net$/);
    expect(parseFeedbackMail(Buffer.from(raw), opts).events[0]!.sourceEventId).toBe(a);
    expect(parseFeedbackMail(dsn('Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n', { messageId: '<m1@mx.example.net>' }), opts).events[0]!.sourceEventId).toBe('m1@mx.example.net/a@example.net');
  });

  it('reads a DSN that returns a 10 MB message, and a 10 MB message of junk, without trouble', () => {
    const big = 'x'.repeat(998) + '\r\n';
    const returned = `From: news@shop.example\r\nMessage-ID: <mih7q2k0aaaaaaaaaaaaaaaa@shop.example>\r\n\r\n${big.repeat(10_500)}`;
    const raw = Buffer.concat([dsn('Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.2.2\n', { extra: `\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n${returned}` })]);
    expect(raw.length).toBeGreaterThan(10 * 1024 * 1024);
    const got = parseFeedbackMail(raw, opts);
    expect(got.events.map((e) => [e.bounce?.reason, e.locator.messageId])).toEqual([['mailbox_full', '<mih7q2k0aaaaaaaaaaaaaaaa@shop.example>']]);
    const junk = parseFeedbackMail(Buffer.from(`Subject: hi\r\n\r\n${big.repeat(10_500)}`), opts);
    expect(junk).toMatchObject({ kind: 'unrecognised', events: [] });
  });

  it('gets through hostile shapes (long runs without spaces, huge headers, deep nesting) with a plain answer', () => {
    const bounce = (body: string) => Buffer.from(`From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail\r\n\r\n${body}\r\n`);
    expect(parseFeedbackMail(bounce('a'.repeat(300_000)), opts).problems).toEqual(['a delivery report that names no recipient address']);
    expect(parseFeedbackMail(bounce('@'.repeat(300_000)), opts).events).toEqual([]);
    expect(parseFeedbackMail(Buffer.from(`From: ${'b'.repeat(1_000_000)}\r\nTo: ${'c,'.repeat(500_000)}\r\n\r\nhello`), opts).kind).toBe('unrecognised');
    let deep = 'innermost';
    for (let i = 0; i < 2000; i++) deep = `Content-Type: multipart/mixed; boundary=b${i}\n\n--b${i}\n${deep}\n--b${i}--\n`;
    expect(parseFeedbackMail(Buffer.from(deep), opts).problems).toContain('MIME: MIME nesting deeper than 8 levels was not read');
  });

  it('keeps only a short reference to the report, never its body', () => {
    const got = parseFeedbackMail(dsn('Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n', { messageId: '<m2@mx.example.net>' }), opts);
    expect(got.reference).toBe('Message-ID: <m2@mx.example.net> | From: MAILER-DAEMON@mx.example.net | Subject: Undelivered Mail Returned to Sender');
    expect(got.events[0]!.raw).toBe(got.reference);
  });
});
