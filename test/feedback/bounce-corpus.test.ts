import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFeedbackMail } from '../../src/adapters/feedback/feedback-mail.ts';
import { createKeyring } from '../../src/lib/secrets.ts';
import { TrackingUrls } from '../../src/templates/tracking-urls.ts';

// The bounce corpus (test/fixtures/bounces/*.eml, written for Chapar in the styles of Postfix,
// Exim, Sendmail, Exchange/Office 365, Gmail, Yahoo and qmail, plus ARF reports, auto-replies,
// non-bounces and broken messages) against expected.json. The VERP addresses in it are signed
// with the test master secret (the one test/helpers/app.ts uses), so they verify here.

const DIR = new URL('../fixtures/bounces/', import.meta.url);
const urls = new TrackingUrls('https://shop.example', createKeyring(Buffer.alloc(32, 7)));

interface ExpectedEvent {
  type: string;
  reason?: string;
  class?: string;
  status?: string | null;
  complaint?: string;
  userAgent?: string;
  recipient: string | null;
  ref: string | null;
  messageId: string | null;
}
interface Expected {
  kind: string;
  problems: boolean;
  events: ExpectedEvent[];
}

const expected = JSON.parse(readFileSync(new URL('expected.json', DIR), 'utf8')) as Record<string, Expected>;
const files = readdirSync(DIR).filter((f) => f.endsWith('.eml'));

function parse(file: string) {
  return parseFeedbackMail(readFileSync(new URL(file, DIR)), { readVerp: (a) => urls.readVerp(a), receivedAt: Date.parse('2026-11-27T10:05:00Z') });
}

describe('bounce corpus', () => {
  it('has at least 60 messages, each with an expected result, some with CRLF line ends', () => {
    expect(files.length).toBeGreaterThanOrEqual(60);
    expect(files.filter((f) => !expected[f])).toEqual([]);
    expect(Object.keys(expected).filter((f) => !files.includes(f))).toEqual([]);
    expect(files.filter((f) => readFileSync(new URL(f, DIR)).includes('\r\n')).length).toBeGreaterThanOrEqual(3);
  });

  it.each(files)('%s', (file) => {
    const want = expected[file]!;
    const got = parse(file);
    expect(got.kind).toBe(want.kind);
    if (want.problems) expect(got.problems.length).toBeGreaterThan(0);
    else expect(got.problems).toEqual([]);
    const shape = got.events.map((e) => ({
      type: e.type,
      ...(e.bounce ? { reason: e.bounce.reason, class: e.bounce.class, status: e.bounce.status } : {}),
      ...(e.complaint ? { complaint: e.complaint.kind } : {}),
      ...(e.complaint && want.events[0]?.userAgent ? { userAgent: e.complaint.userAgent } : {}),
      recipient: e.locator.recipient ?? null,
      ref: e.locator.messageRef ?? null,
      messageId: e.locator.messageId ?? null,
    }));
    expect(shape).toEqual(want.events);
    for (const e of got.events) {
      expect(e.source).toBe('bounce_receiver');
      expect(e.sourceEventId).toMatch(/\S/);
      expect(e.raw!.length).toBeLessThanOrEqual(400);
    }
  });

  it('gives each recipient group of one report its own id, and the same report the same ids', () => {
    const a = parse('postfix-user-unknown.eml').events.map((e) => e.sourceEventId);
    expect(parse('postfix-user-unknown.eml').events.map((e) => e.sourceEventId)).toEqual(a);
    expect(a).toEqual(['20261127100212.5E6F71C0A01@mta.shop.example/jane@example.org']);
  });
});
