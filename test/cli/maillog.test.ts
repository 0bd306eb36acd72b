import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMessageRef } from '../../src/templates/tracking-urls.ts';
import { openTestCli, type TestCli } from '../helpers/cli.ts';
import { DIALECTS } from '../helpers/databases.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

describe.each(DIALECTS)('chapar maillog on %s', (dialect) => {
  let cli: TestCli;
  beforeAll(async () => {
    cli = await openTestCli(dialect);
  });
  afterAll(async () => cli?.close());

  // The CLI runs on the real clock: the messages and the log lines are from a minute ago.
  async function sentMessage(email: string): Promise<string> {
    const now = Date.now() - 60_000;
    const ref = newMessageRef(now);
    await cli.db.k
      .insertInto('messages')
      .values({ idempotencyKey: ref, ref, stream: 'transactional', source: 'api', toEmail: email, content: '{}', data: '{}', streamId: 'tx', status: 'sent', dueAt: now, expiresAt: now + 86400_000, createdAt: now, updatedAt: now, sentAt: now })
      .execute();
    return ref;
  }

  it('imports a mail.log and prints what it found; a second import finds only duplicates', async () => {
    const [a, b] = [await sentMessage('jane@example.net'), await sentMessage('bob@example.net')];
    const d = new Date(Date.now() - 30_000);
    const iso = d.toISOString();
    const classic = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${iso.slice(11, 19)}`;
    const file = cli.path('mail.log');
    writeFileSync(
      file,
      [
        `${iso} mail postfix/pickup[101]: 3F2A21C0A2B: uid=1000 from=<bounces@shop.example>`,
        `${iso} mail postfix/cleanup[103]: 3F2A21C0A2B: message-id=<${a}@shop.example>`,
        `${classic} mail postfix/cleanup[103]: 4B3C2D1E0F: message-id=<${b}@shop.example>`,
        `${iso} mail postfix/cleanup[103]: 5C4D3E2F1A: message-id=<20250110.abc123@other.example>`,
        `${iso} mail postfix/qmgr[104]: 3F2A21C0A2B: from=<bounces@shop.example>, size=4521, nrcpt=1 (queue active)`,
        `${iso} mail postfix/smtp[105]: 5C4D3E2F1A: to=<x@example.org>, relay=mx.example.org[198.51.100.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 OK)`,
        `${iso} mail postfix/smtp[105]: 3F2A21C0A2B: to=<jane@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=1.2, delays=0.1/0.01/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 OK 1736503201 x1si)`,
        `${classic} mail postfix/smtp[105]: 4B3C2D1E0F: to=<bob@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=0.9, delays=0.1/0/0.4/0.4, dsn=5.1.1, status=bounced (host mx.example.net[203.0.113.5] said: 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown (in reply to RCPT TO command))`,
        `${iso} mail postfix/qmgr[104]: 3F2A21C0A2B: removed`,
        '',
      ].join('\n'),
    );
    expect(await cli.run(['maillog', 'import', file, '--utc'])).toEqual({ code: 0, stderr: '', stdout: '9 lines read, 5 about our mail: 2 events, 2 recorded, 0 duplicates, 0 unmatched\n' });
    const events = await cli.db.k.selectFrom('events').select(['messageRef', 'type', 'reason']).where('source', '=', 'maillog').orderBy('id').execute();
    expect(events).toEqual([
      { messageRef: a, type: 'email_delivered', reason: null },
      { messageRef: b, type: 'email_bounced', reason: 'user_unknown' },
    ]);
    expect(await cli.db.k.selectFrom('suppressions').select('reason').execute()).toEqual([{ reason: 'hard_bounce' }]);

    expect((await cli.run(['maillog', 'import', file, '--utc'])).stdout).toBe('9 lines read, 5 about our mail: 2 events, 0 recorded, 2 duplicates, 0 unmatched\n');
  });

  it('refuses a missing file and a bad poll interval with exit 2 and a message naming them', async () => {
    const missing = cli.path('no-such.log');
    expect(await cli.run(['maillog', 'import', missing])).toEqual({ code: 2, stdout: '', stderr: `error: file: cannot read "${missing}": no such file\n` });
    expect(await cli.run(['maillog', 'follow', missing, '--poll-ms', 'soon'])).toEqual({ code: 2, stdout: '', stderr: 'error: --poll-ms: "soon" is not a number of milliseconds from 50 to 60000\n' });
    expect(await cli.run(['maillog', 'follow', missing])).toEqual({ code: 2, stdout: '', stderr: `error: file: cannot read "${missing}": no such file\n` });
  });
});
