import { describe, expect, it } from 'vitest';
import { parseMaillogLine, type MaillogParseOptions } from './maillog-parser.ts';

const opts: MaillogParseOptions = { now: Date.parse('2025-01-10T12:00:00Z'), zone: 'utc' };
const parse = (line: string, o: Partial<MaillogParseOptions> = {}) => parseMaillogLine(line, { ...opts, ...o });
const at = (iso: string) => Date.parse(iso);

describe('parseMaillogLine: prefixes', () => {
  const body = 'postfix/cleanup[103]: 3F2A21C0A2B: message-id=<20250110.abc123@shop.example>';
  const expected = { kind: 'message_id', host: 'mail', program: 'postfix/cleanup', queueId: '3F2A21C0A2B', messageId: '<20250110.abc123@shop.example>' };

  it('reads the classic syslog prefix, with one- and two-digit days and zero-padded ones (maillog_file)', () => {
    expect(parse(`Jan 10 10:00:01 mail ${body}`)).toEqual({ ...expected, at: at('2025-01-10T10:00:01Z') });
    expect(parse(`Jan  5 09:08:07 mail ${body}`)).toEqual({ ...expected, at: at('2025-01-05T09:08:07Z') });
    // Postfix's own maillog_file writes strftime("%b %d %H:%M:%S "): a zero-padded day.
    expect(parse(`Jan 05 09:08:07 mail ${body}`)).toEqual({ ...expected, at: at('2025-01-05T09:08:07Z') });
    expect(parse(`Jan 05 09:08:07.250311 mail ${body}`)).toEqual({ ...expected, at: at('2025-01-05T09:08:07.250Z') });
  });

  it('reads RFC 3339 prefixes with any fraction and zone, and journalctl short-iso', () => {
    expect(parse(`2025-01-10T10:00:01.123456+00:00 mail ${body}`)).toEqual({ ...expected, at: at('2025-01-10T10:00:01.123Z') });
    expect(parse(`2025-01-10T13:30:01+03:30 mail ${body}`)).toEqual({ ...expected, at: at('2025-01-10T10:00:01Z') });
    expect(parse(`2025-01-10T05:00:01-0500 mail ${body}`)).toEqual({ ...expected, at: at('2025-01-10T10:00:01Z') });
    expect(parse(`2025-01-10T10:00:01Z mail ${body}`)).toEqual({ ...expected, at: at('2025-01-10T10:00:01Z') });
    // Without a zone the configured one applies.
    expect(parse(`2025-01-10T10:00:01 mail ${body}`)).toEqual({ ...expected, at: at('2025-01-10T10:00:01Z') });
    // RFC 3339 lines carry their year: the clock does not matter.
    expect(parse(`2023-06-01T10:00:01Z mail ${body}`, { now: at('2026-03-01T00:00:00Z') })).toMatchObject({ at: at('2023-06-01T10:00:01Z') });
  });

  it('takes the year of classic prefixes from the clock, across the turn of the year', () => {
    const line = (stamp: string) => `${stamp} mail ${body}`;
    // Read on 2 January: "Dec 31" was last year.
    expect(parse(line('Dec 31 23:59:58'), { now: at('2026-01-02T08:00:00Z') })).toMatchObject({ at: at('2025-12-31T23:59:58Z') });
    expect(parse(line('Jan  2 07:00:00'), { now: at('2026-01-02T08:00:00Z') })).toMatchObject({ at: at('2026-01-02T07:00:00Z') });
    // Read on 31 December by a clock a little behind the log's: "Jan 1" is next year.
    expect(parse(line('Jan  1 00:00:03'), { now: at('2025-12-31T23:59:59Z') })).toMatchObject({ at: at('2026-01-01T00:00:03Z') });
    // Feb 29 exists only in leap years: the latest one not in the future.
    expect(parse(line('Feb 29 12:00:00'), { now: at('2025-03-01T00:00:00Z') })).toMatchObject({ at: at('2024-02-29T12:00:00Z') });
    expect(parse(line('Feb 30 12:00:00'))).toEqual({ kind: 'other' });
  });

  it('reads classic timestamps in the local zone when told to', () => {
    const local = new Date(2025, 0, 10, 10, 0, 1).getTime();
    expect(parse(`Jan 10 10:00:01 mail ${body}`, { zone: 'local' })).toMatchObject({ at: local });
  });

  it('accepts any syslog_name: multiple instances, submission services', () => {
    expect(parse('Jan 10 10:00:01 mx1 postfix-out/smtp[7]: 3F2A21C0A2B: removed')).toMatchObject({ kind: 'removed', program: 'postfix-out/smtp', host: 'mx1' });
    expect(parse('Jan 10 10:00:01 mx1 postfix/submission/cleanup[7]: ABCDE12345: message-id=<x@y>')).toMatchObject({ kind: 'message_id', program: 'postfix/submission/cleanup' });
  });
});

describe('parseMaillogLine: records', () => {
  const p = 'Jan 10 10:00:02 mail ';

  it('reads a sent line', () => {
    expect(parse(`${p}postfix/smtp[105]: 3F2A21C0A2B: to=<jane@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=1.2, delays=0.1/0.01/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 OK 1736503201 x1si)`)).toEqual({
      kind: 'delivery',
      at: at('2025-01-10T10:00:02Z'),
      host: 'mail',
      program: 'postfix/smtp',
      queueId: '3F2A21C0A2B',
      to: 'jane@example.net',
      origTo: null,
      relay: 'mx.example.net[203.0.113.5]:25',
      dsn: '2.0.0',
      status: 'sent',
      reason: '250 2.0.0 OK 1736503201 x1si',
      fields: { to: 'jane@example.net', relay: 'mx.example.net[203.0.113.5]:25', delay: '1.2', delays: '0.1/0.01/0.5/0.6', dsn: '2.0.0' },
    });
  });

  it('reads a bounced line with nested parentheses in the reason', () => {
    expect(parse(`${p}postfix/smtp[105]: 3F2A21C0A2B: to=<bob@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=0.9, delays=0.1/0/0.4/0.4, dsn=5.1.1, status=bounced (host mx.example.net[203.0.113.5] said: 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown (in reply to RCPT TO command))`)).toMatchObject({
      kind: 'delivery',
      to: 'bob@example.net',
      dsn: '5.1.1',
      status: 'bounced',
      reason: 'host mx.example.net[203.0.113.5] said: 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown (in reply to RCPT TO command)',
    });
  });

  it('reads a deferred line with relay=none', () => {
    expect(parse(`${p}postfix/smtp[105]: 3F2A21C0A2B: to=<amy@slow.example>, relay=none, delay=30, delays=0.1/0/30/0, dsn=4.4.1, status=deferred (connect to mx.slow.example[198.51.100.7]:25: Connection timed out)`)).toMatchObject({
      kind: 'delivery',
      relay: 'none',
      dsn: '4.4.1',
      status: 'deferred',
      reason: 'connect to mx.slow.example[198.51.100.7]:25: Connection timed out',
    });
  });

  it('keeps optional and unknown fields: orig_to, conn_use, tls, and ones not yet invented', () => {
    const line = `${p}postfix/smtp[105]: 3Pt2mN2VXxznjll: to=<jane@example.net>, orig_to=<jane@shop.example>, relay=mx.example.net[203.0.113.5]:25, conn_use=3, delay=0.41, delays=0/0/0.2/0.2, tls=(starttls)/!requiretls, future_field=x y z, dsn=2.0.0, status=sent (250 OK)`;
    expect(parse(line)).toMatchObject({
      kind: 'delivery',
      queueId: '3Pt2mN2VXxznjll',
      to: 'jane@example.net',
      origTo: 'jane@shop.example',
      fields: { conn_use: '3', tls: '(starttls)/!requiretls', future_field: 'x y z' },
    });
  });

  it('reads local, lmtp, error and discard deliveries, SOFTBOUNCE and address verification', () => {
    expect(parse(`${p}postfix/local[9]: A1B2C3D4E5: to=<root@mail.example>, orig_to=<root>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)`)).toMatchObject({ relay: 'local', origTo: 'root', status: 'sent' });
    expect(parse(`${p}postfix/lmtp[9]: A1B2C3D4E5: to=<a@b.example>, relay=mail.example[private/dovecot-lmtp], delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <a@b.example> Saved)`)).toMatchObject({ relay: 'mail.example[private/dovecot-lmtp]' });
    expect(parse(`${p}postfix/error[9]: A1B2C3D4E5: to=<x@nowhere.example>, relay=none, delay=0.2, delays=0/0/0/0.2, dsn=5.4.4, status=bounced (Host or domain name not found. Name service error for name=nowhere.example type=A: Host not found)`)).toMatchObject({ status: 'bounced', dsn: '5.4.4' });
    expect(parse(`${p}postfix/smtp[9]: A1B2C3D4E5: to=<x@y.example>, relay=y.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=SOFTBOUNCE (host y.example[192.0.2.1] said: 550 5.1.1 no such user)`)).toMatchObject({ status: 'softbounce' });
    expect(parse(`${p}postfix/smtp[9]: A1B2C3D4E5: to=<x@y.example>, relay=y.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)`)).toMatchObject({ status: 'deliverable' });
    expect(parse(`${p}postfix/discard[9]: A1B2C3D4E5: to=<x@y.example>, relay=none, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (y.example)`)).toMatchObject({ status: 'sent', relay: 'none' });
  });

  it('reads addresses with a quoted local part holding ", " and an empty reason', () => {
    expect(parse(`${p}postfix/smtp[9]: A1B2C3D4E5: to=<"smith, j"@example.net>, relay=none, delay=1, delays=0/0/0/1, dsn=4.0.0, status=deferred ()`)).toMatchObject({ to: '"smith, j"@example.net', reason: '', status: 'deferred' });
    expect(parse(`${p}postfix/smtp[9]: A1B2C3D4E5: to=<a@b>, relay=none, dsn=4.0.0, status=deferred`)).toMatchObject({ status: 'deferred', reason: '' });
  });

  it('reads the qmgr expiry line, plain and forced', () => {
    expect(parse(`${p}postfix/qmgr[104]: 3F2A21C0A2B: from=<bounces@shop.example>, status=expired, returned to sender`)).toEqual({ kind: 'expired', at: at('2025-01-10T10:00:02Z'), host: 'mail', program: 'postfix/qmgr', queueId: '3F2A21C0A2B', from: 'bounces@shop.example', forced: false });
    expect(parse(`${p}postfix/qmgr[104]: 3F2A21C0A2B: from=<>, status=force-expired, returned to sender`)).toMatchObject({ kind: 'expired', from: '', forced: true });
  });

  it('reads message-id lines verbatim, and removed', () => {
    expect(parse(`${p}postfix/cleanup[103]: 3F2A21C0A2B: message-id=<lxyz12340123456789abcdef@shop.example>`)).toMatchObject({ messageId: '<lxyz12340123456789abcdef@shop.example>' });
    expect(parse(`${p}postfix/cleanup[103]: 3F2A21C0A2B: message-id=broken id without brackets`)).toMatchObject({ kind: 'message_id', messageId: 'broken id without brackets' });
    expect(parse(`${p}postfix/qmgr[104]: 3F2A21C0A2B: removed`)).toMatchObject({ kind: 'removed', queueId: '3F2A21C0A2B' });
  });

  it.each([
    `${p}postfix/pickup[101]: 3F2A21C0A2B: uid=1000 from=<bounces@shop.example>`,
    `${p}postfix/smtpd[102]: 3F2A21C0A2B: client=app.internal[10.0.0.5]`,
    `${p}postfix/qmgr[104]: 3F2A21C0A2B: from=<bounces@shop.example>, size=4521, nrcpt=1 (queue active)`,
    `${p}postfix/bounce[106]: 3F2A21C0A2B: sender non-delivery notification: 5E6F71C0A2C`,
    `${p}postfix/cleanup[103]: 3F2A21C0A2B: resent-message-id=<a@b>`,
    `${p}postfix/cleanup[103]: 3F2A21C0A2B: message-id=`,
    `${p}postfix/smtpd[102]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <x@y>: Relay access denied; from=<a@b> to=<x@y> proto=ESMTP helo=<z>`,
    `${p}postfix/smtpd[102]: connect from app.internal[10.0.0.5]`,
    `${p}postfix/smtp[105]: warning: TLS library problem: error:0A000126:SSL routines::unexpected eof while reading`,
    `${p}postfix/smtp[105]: 3F2A21C0A2B: to=<jane@example.net>, relay=mx[1.2.3.4]:25, dsn=2.0.0, status=shipped (250 OK)`,
    `${p}postfix/smtp[105]: 3F2A21C0A2B: to=<jane@example.net, relay=mx[1.2.3.4]:25, dsn=2.0.0, status=sent (250 OK)`,
    `${p}postfix/smtp[105]: 3F2A21C0A2B: to=<jane@example.net>, relay=mx[1.2.3.4]:25`,
    `${p}postfix/smtp[105]: 3F2A21C0A2B: to=<jane@example.net>, RELAY=x, status=sent (250 OK)`,
    `${p}dovecot[5]: imap-login: Login: user=<jane>`,
    `${p}kernel: [12345.678] eth0: link up`,
    'Jan 10 10:00:02',
    'Foo 10 10:00:02 mail postfix/qmgr[1]: 3F2A21C0A2B: removed',
    '2025-13-40T99:00:00Z mail postfix/qmgr[1]: 3F2A21C0A2B: removed',
    'postfix/qmgr[104]: 3F2A21C0A2B: removed',
    '',
    '\u0000\u0001\u0002 binary \uFFFD junk',
    `${p}postfix/qmgr[104]: 3F2A21C0A2B: removed${'x'.repeat(30_000)}`,
    'x'.repeat(100_000),
  ])('treats %j as other mail or noise', (line) => {
    expect(parse(line)).toEqual({ kind: 'other' });
  });

  it('never throws, whatever the bytes', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = 'Jan 10:2<>=,()[]@.postfix/smtp: 3F2A21C0A2B to relay status dsn sent bounced\u00e9\n\t';
    for (let i = 0; i < 2000; i++) {
      const line = Array.from({ length: Math.floor(rnd() * 160) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
      expect(() => parse(`${p}postfix/smtp[105]: 3F2A21C0A2B: to=<${line}`)).not.toThrow();
      expect(() => parse(line)).not.toThrow();
    }
  });
});
