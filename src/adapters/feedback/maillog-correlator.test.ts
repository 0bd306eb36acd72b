import { describe, expect, it } from 'vitest';
import { newMessageRef } from '../../templates/tracking-urls.ts';
import { correlateMaillog, ourMessageRef, queueIdsOf, type QueueEntry } from './maillog-correlator.ts';
import { parseMaillogLine } from './maillog-parser.ts';

const T0 = Date.parse('2026-11-27T10:00:00Z');
const ref = newMessageRef(T0 - 60_000);
const ours = `<${ref}@shop.example>`;
const lines = (...raw: string[]) => raw.map((r) => ({ raw: r, parsed: parseMaillogLine(r, { now: T0 + 3600_000, zone: 'utc' }) }));
const l = (time: string, rest: string) => `Nov 27 ${time} mail ${rest}`;

describe('ourMessageRef', () => {
  it('accepts our Message-IDs and nothing shaped otherwise', () => {
    expect(ourMessageRef(ours, T0)).toBe(ref);
    expect(ourMessageRef(`<${newMessageRef(Date.parse('2021-03-01T00:00:00Z'))}@other.example>`, T0)).not.toBeNull();
    for (const id of [
      '<20250110.abc123@shop.example>',
      '<3Pt2mN2VXxznjll@mail.example>',
      `<${ref.toUpperCase()}@shop.example>`,
      `${ref}@shop.example`,
      `<${ref}>`,
      `<${ref}@shop.example> trailing`,
      '<0123456789abcdef0123456789abcdef@x.example>', // an MD5: its "time" is far beyond now
      `<${newMessageRef(T0 + 5 * 24 * 3600_000)}@shop.example>`, // made after the line was written
      `<${'z'.repeat(41)}@x>`,
      '<CAF=x+abc@mail.gmail.com>',
      '',
    ]) {
      expect(ourMessageRef(id, T0), id).toBeNull();
    }
  });
});

describe('correlateMaillog', () => {
  const known = new Map<string, QueueEntry>();

  it('turns sent, deferred, bounced and expired lines of our queue ids into events; other mail is skipped', () => {
    const input = lines(
      l('10:00:01', 'postfix/cleanup[1]: 3F2A21C0A2B: message-id=<20250110.abc123@other.example>'),
      l('10:00:01', `postfix/cleanup[1]: 4A1B2C3D4E: message-id=${ours}`),
      l('10:00:02', 'postfix/qmgr[2]: 4A1B2C3D4E: from=<bounces@shop.example>, size=4521, nrcpt=1 (queue active)'),
      l('10:00:03', 'postfix/smtp[3]: 3F2A21C0A2B: to=<x@example.net>, relay=mx[203.0.113.5]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 OK)'),
      l('10:00:03', 'postfix/smtp[3]: 4A1B2C3D4E: to=<amy@slow.example>, relay=none, delay=30, delays=0.1/0/30/0, dsn=4.4.1, status=deferred (connect to mx.slow.example[198.51.100.7]:25: Connection timed out)'),
      l('10:30:03', 'postfix/smtp[3]: 4A1B2C3D4E: to=<amy@slow.example>, relay=mx.slow.example[198.51.100.7]:25, delay=1800, delays=0.1/1770/0.4/0.4, dsn=5.1.1, status=bounced (host mx.slow.example[198.51.100.7] said: 550 5.1.1 <amy@slow.example>: Recipient address rejected: User unknown (in reply to RCPT TO command))'),
    );
    const out = correlateMaillog(input, known);
    expect(out.ours).toBe(3); // the message-id line and the two status lines
    expect(out.events).toEqual([
      {
        source: 'maillog',
        sourceEventId: '4A1B2C3D4E/amy@slow.example/deferred/2026-11-27T10:00:03.000Z',
        type: 'deferred',
        locator: { messageRef: ref, messageId: ours, recipient: 'amy@slow.example' },
        bounce: { reason: 'other', class: 'soft', status: '4.4.1', diagnostic: 'connect to mx.slow.example[198.51.100.7]:25: Connection timed out' },
        occurredAt: Date.parse('2026-11-27T10:00:03Z'),
        raw: input[4]!.raw,
      },
      expect.objectContaining({
        sourceEventId: '4A1B2C3D4E/amy@slow.example/bounced/2026-11-27T10:30:03.000Z',
        type: 'bounced',
        bounce: { reason: 'user_unknown', class: 'hard', status: '5.1.1', diagnostic: expect.stringContaining('said: 550 5.1.1') },
      }),
    ]);
    expect([...out.upserts]).toEqual([['4A1B2C3D4E', { messageId: ours, seenAt: Date.parse('2026-11-27T10:00:01Z') }]]);
    expect(out.deletes.size).toBe(0);
  });

  it('joins through a queue id stored by an earlier run, uses orig_to, and forgets the id at removed', () => {
    const stored = new Map([['4A1B2C3D4E', { messageId: ours, seenAt: T0 }]]);
    const input = lines(
      l('10:05:00', 'postfix/smtp[3]: 4A1B2C3D4E: to=<jane@mailhost.example>, orig_to=<jane@example.net>, relay=mx[203.0.113.5]:25, conn_use=2, delay=1, delays=0/0/0/1, tls=(starttls), dsn=2.0.0, status=sent (250 2.0.0 OK)'),
      l('10:05:00', 'postfix/qmgr[2]: 4A1B2C3D4E: removed'),
      l('10:06:00', 'postfix/smtp[3]: 4A1B2C3D4E: to=<late@example.net>, relay=none, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 OK)'),
    );
    const out = correlateMaillog(input, stored);
    expect(out.events).toMatchObject([{ type: 'delivered', locator: { messageRef: ref, recipient: 'jane@example.net' }, sourceEventId: '4A1B2C3D4E/jane@example.net/sent/2026-11-27T10:05:00.000Z' }]);
    expect(out.events[0]!.bounce).toBeUndefined();
    expect([...out.deletes]).toEqual(['4A1B2C3D4E']);
    expect(out.upserts.size).toBe(0);
  });

  it('reports expiry as a soft bounce with reason expired, and SOFTBOUNCE as a deferral', () => {
    const stored = new Map([['4A1B2C3D4E', { messageId: ours, seenAt: T0 }]]);
    const out = correlateMaillog(
      lines(
        l('10:10:00', 'postfix/smtp[3]: 4A1B2C3D4E: to=<x@y.example>, relay=y.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=SOFTBOUNCE (host y.example[192.0.2.1] said: 550 5.1.1 no such user)'),
        l('10:20:00', 'postfix/qmgr[2]: 4A1B2C3D4E: from=<bounces@shop.example>, status=force-expired, returned to sender'),
      ),
      stored,
    );
    expect(out.events).toMatchObject([
      { type: 'deferred', bounce: { reason: 'user_unknown', class: 'soft', status: '5.1.1' } },
      { type: 'bounced', sourceEventId: '4A1B2C3D4E/expired/2026-11-27T10:20:00.000Z', locator: { messageRef: ref, messageId: ours }, bounce: { reason: 'expired', class: 'soft', status: null } },
    ]);
    expect(out.events[1]!.locator.recipient).toBeUndefined();
  });

  it('skips hand-offs to a content filter on this host and address verification probes', () => {
    const stored = new Map([['4A1B2C3D4E', { messageId: ours, seenAt: T0 }]]);
    const out = correlateMaillog(
      lines(
        l('10:00:05', 'postfix/smtp[3]: 4A1B2C3D4E: to=<x@y.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9F8E7D6C5B)'),
        l('10:00:05', 'postfix/smtp[3]: 4A1B2C3D4E: to=<x@y.example>, relay=localhost[::1]:10026, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)'),
        l('10:00:06', 'postfix/smtp[3]: 4A1B2C3D4E: to=<x@y.example>, relay=y.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)'),
      ),
      stored,
    );
    expect(out.events).toEqual([]);
    expect(out.ours).toBe(3);
  });

  it('keys on queue id and time: a reused short id belongs to whoever cleanup named last, and an old entry expires', () => {
    const stored = new Map([
      ['AAAAA11111', { messageId: ours, seenAt: T0 }],
      ['BBBBB22222', { messageId: ours, seenAt: T0 - 8 * 24 * 3600_000 }],
    ]);
    const out = correlateMaillog(
      lines(
        l('10:00:01', 'postfix/cleanup[1]: AAAAA11111: message-id=<someone.else@other.example>'),
        l('10:00:02', 'postfix/smtp[3]: AAAAA11111: to=<x@y.example>, relay=none, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 OK)'),
        l('10:00:03', 'postfix/smtp[3]: BBBBB22222: to=<x@y.example>, relay=none, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 OK)'),
      ),
      stored,
    );
    expect(out.events).toEqual([]);
    expect(out.ours).toBe(0);
    expect([...out.deletes].sort()).toEqual(['AAAAA11111', 'BBBBB22222']);
  });

  it('lists the queue ids to look up, once each', () => {
    expect(queueIdsOf(lines(l('10:00:01', 'postfix/qmgr[2]: AAAAA11111: removed'), l('10:00:01', 'postfix/qmgr[2]: AAAAA11111: removed'), 'garbage', l('10:00:01', 'postfix/smtpd[2]: connect from x[1.2.3.4]')))).toEqual(['AAAAA11111']);
  });
});
