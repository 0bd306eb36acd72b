import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followMaillog, importMaillog, type MaillogReport } from '../../src/services/maillog.ts';
import { newMessageRef } from '../../src/templates/tracking-urls.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { sentMessage, suppressionReasons, type SentMessage } from '../helpers/feedback.ts';

// Log lines a few seconds apart from the test clock's start, alternately in the classic syslog
// and the RFC 3339 format, each with its own time (so each status line is its own event).
const T0 = Date.parse('2026-11-27T10:00:00Z');
let second = 0;
function stamp(): string {
  const d = new Date(T0 + ++second * 1000);
  if (second % 2 === 0) return `${d.toISOString().slice(0, 19)}.${String(second % 1000).padStart(3, '0')}123+00:00`;
  return `Nov 27 ${d.toISOString().slice(11, 19)}`;
}
let qidSeq = 0x3f2a21c0a00;
const newQid = () => (qidSeq++).toString(16).toUpperCase();

const log = {
  cleanup: (qid: string, ref: string) => `${stamp()} mail postfix/cleanup[103]: ${qid}: message-id=<${ref}@shop.example>`,
  status: (qid: string, rcpt: string, dsn: string, status: string, reason: string) =>
    `${stamp()} mail postfix/smtp[105]: ${qid}: to=<${rcpt}>, relay=mx.example.net[203.0.113.5]:25, delay=1.2, delays=0.1/0.01/0.5/0.6, dsn=${dsn}, status=${status} (${reason})`,
  sent: (qid: string, rcpt: string) => log.status(qid, rcpt, '2.0.0', 'sent', '250 2.0.0 OK 1736503201 x1si'),
  bounced: (qid: string, rcpt: string) =>
    log.status(qid, rcpt, '5.1.1', 'bounced', `host mx.example.net[203.0.113.5] said: 550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown (in reply to RCPT TO command)`),
  deferred: (qid: string, rcpt: string) => log.status(qid, rcpt, '4.2.2', 'deferred', 'host mx.example.net[203.0.113.5] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command)'),
  expired: (qid: string) => `${stamp()} mail postfix/qmgr[104]: ${qid}: from=<bounces@shop.example>, status=expired, returned to sender`,
  removed: (qid: string) => `${stamp()} mail postfix/qmgr[104]: ${qid}: removed`,
  /** A whole delivery of somebody else's mail, and the noise around it. */
  otherMail: (): string[] => {
    const q = newQid();
    return [
      `${stamp()} mail postfix/smtpd[102]: connect from app.internal[10.0.0.5]`,
      `${stamp()} mail postfix/smtpd[102]: ${q}: client=app.internal[10.0.0.5]`,
      `${stamp()} mail postfix/cleanup[103]: ${q}: message-id=<20261127.${q}@other.example>`,
      `${stamp()} mail postfix/qmgr[104]: ${q}: from=<someone@other.example>, size=4521, nrcpt=1 (queue active)`,
      `${stamp()} mail postfix/smtp[105]: ${q}: to=<friend@example.org>, relay=mx.example.org[198.51.100.9]:25, delay=1, delays=0.1/0/0.4/0.5, dsn=5.1.1, status=bounced (host mx.example.org[198.51.100.9] said: 550 5.1.1 unknown)`,
      `${stamp()} mail postfix/smtpd[102]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <x@y>: Relay access denied; from=<a@b> to=<x@y> proto=ESMTP helo=<z>`,
      `${stamp()} mail postfix/qmgr[104]: ${q}: removed`,
      `${stamp()} mail dovecot[77]: imap-login: Login: user=<jane>`,
    ];
  },
};
const text = (lines: readonly string[]) => lines.map((l) => `${l}\n`).join('');

describe.each(DIALECTS)('Postfix mail.log feedback on %s', (dialect) => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    dir = mkdtempSync(join(tmpdir(), 'chapar-maillog-'));
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const maillogEvents = (ref: string) =>
    t.db.k.selectFrom('events').select(['type', 'sourceEventId', 'reason', 'contactId']).where('messageRef', '=', ref).where('source', '=', 'maillog').orderBy('id').execute();
  const typesOf = async (m: SentMessage) => (await maillogEvents(m.ref)).map((e) => e.type);
  const queueIds = async () => (await t.db.k.selectFrom('maillogQueue').select('queueId').execute()).map((r) => r.queueId).sort();
  const cursorOf = (path: string) => t.db.k.selectFrom('maillogCursors').selectAll().where('path', '=', path).executeTakeFirst();

  /** Follows a file in the background; tests wait on what it has recorded, never on time. */
  function follow(path: string) {
    const stop = new AbortController();
    let idles = 0;
    let last: MaillogReport | undefined;
    const waiters: { test: () => boolean; resolve: () => void }[] = [];
    const done = followMaillog(t.app.ctx, path, {
      signal: stop.signal,
      pollMs: 5,
      zone: 'utc',
      onCaughtUp(r) {
        idles++;
        last = { ...r };
        for (const w of [...waiters]) if (w.test()) waiters.splice(waiters.indexOf(w), 1) && w.resolve();
      },
    });
    const until = (test: (r: MaillogReport) => boolean) =>
      Promise.race([new Promise<MaillogReport>((resolve) => waiters.push({ test: () => !!last && test(last), resolve: () => resolve(last!) })), done.then(() => Promise.reject(new Error('the follower stopped')))]);
    return {
      until,
      /** Resolves once a whole poll has run after this call: whatever was written before is read. */
      caughtUp: () => {
        const target = idles + 2;
        return until(() => idles >= target);
      },
      stop: async () => {
        stop.abort();
        return done;
      },
    };
  }

  it('imports a log of interleaved mail: our deliveries, bounces, deferrals and expiries become events; other mail is skipped', async () => {
    const [a, b, c] = [await sentMessage(t), await sentMessage(t), await sentMessage(t)];
    const [qa, qb, qc, qx] = [newQid(), newQid(), newQid(), newQid()];
    const ghost = newMessageRef(T0);
    const path = join(dir, 'import.log');
    writeFileSync(
      path,
      text([
        ...log.otherMail(),
        log.cleanup(qa, a.ref),
        log.cleanup(qb, b.ref),
        ...log.otherMail(),
        log.sent(qa, a.email),
        log.removed(qa),
        log.cleanup(qc, c.ref),
        log.bounced(qb, b.email),
        log.removed(qb),
        ...log.otherMail(),
        log.deferred(qc, c.email),
        log.deferred(qc, c.email),
        log.expired(qc),
        // One of our Message-IDs whose message is not in this database: kept as unmatched.
        log.cleanup(qx, ghost),
        log.sent(qx, 'who@example.com'),
        'garbage \u0000 line',
      ]).replace(/\n/g, (nl, i: number) => (i % 3 === 0 ? '\r\n' : nl)),
    );
    const report = await importMaillog(t.app.ctx, path, { zone: 'utc' });
    expect(report).toEqual({ lines: 37, ours: 12, events: 6, recorded: 5, duplicates: 0, unmatched: 1 });

    expect(await maillogEvents(a.ref)).toEqual([{ type: 'email_delivered', sourceEventId: expect.stringMatching(new RegExp(`^${qa}/${a.email}/sent/2026-11-27T10:`)), reason: null, contactId: a.contactId }]);
    expect(await maillogEvents(b.ref)).toMatchObject([{ type: 'email_bounced', reason: 'user_unknown' }]);
    expect(await suppressionReasons(t, b.email)).toEqual(['hard_bounce']);
    expect((await t.db.k.selectFrom('messages').select(['status', 'reason']).where('id', '=', b.id).executeTakeFirstOrThrow())).toEqual({ status: 'bounced', reason: 'hard_bounce: user_unknown (5.1.1)' });
    expect(await maillogEvents(c.ref)).toMatchObject([
      { type: 'email_deferred', reason: 'mailbox_full' },
      { type: 'email_deferred', reason: 'mailbox_full' },
      { type: 'email_bounced', reason: 'expired' },
    ]);
    expect(await suppressionReasons(t, c.email)).toEqual([]);
    const unmatched = await t.db.k.selectFrom('unmatchedFeedback').selectAll().where('source', '=', 'maillog').execute();
    expect(unmatched).toMatchObject([{ type: 'delivered', why: expect.stringContaining(ghost), sourceEventId: expect.stringMatching(new RegExp(`^${qx}/who@example.com/sent/`)) }]);
    // Removed queue ids are forgotten; other mail was never remembered.
    expect(await queueIds()).toEqual([qc, qx].sort());

    // Importing again records nothing twice.
    expect(await importMaillog(t.app.ctx, path, { zone: 'utc' })).toEqual({ lines: 37, ours: 12, events: 6, recorded: 0, duplicates: 6, unmatched: 0 });
    expect(await maillogEvents(c.ref)).toHaveLength(3);
    // The one-shot import leaves the follower's cursor alone.
    expect(await cursorOf(path)).toBeUndefined();
  });

  it('imports a gzip-compressed rotated log, and says clearly what is wrong with a bad file', async () => {
    const m = await sentMessage(t);
    const q = newQid();
    const path = join(dir, 'mail.log.2.gz');
    writeFileSync(path, gzipSync(text([...log.otherMail(), log.cleanup(q, m.ref), log.sent(q, m.email)])));
    expect(await importMaillog(t.app.ctx, path, { zone: 'utc' })).toMatchObject({ lines: 10, events: 1, recorded: 1 });
    expect(await typesOf(m)).toEqual(['email_delivered']);

    await expect(importMaillog(t.app.ctx, join(dir, 'nope.log'))).rejects.toMatchObject({ code: 'validation_failed', message: `file: cannot read "${join(dir, 'nope.log')}": no such file` });
    await expect(importMaillog(t.app.ctx, dir)).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringContaining('it is not a file') });
    const broken = join(dir, 'broken.gz');
    writeFileSync(broken, Buffer.concat([gzipSync(text(log.otherMail())).subarray(0, 30), Buffer.from('not gzip at all')]));
    await expect(importMaillog(t.app.ctx, broken)).rejects.toMatchObject({ code: 'import_failed', message: expect.stringContaining('is not a readable gzip file') });
    await expect(followMaillog(t.app.ctx, path, { signal: new AbortController().signal })).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringContaining('is gzip-compressed') });
  });

  it('follows appended lines, waits for the end of a line split across two writes, and stores its place', async () => {
    const [a, b] = [await sentMessage(t), await sentMessage(t)];
    const [qa, qb] = [newQid(), newQid()];
    const path = join(dir, 'follow.log');
    writeFileSync(path, text([...log.otherMail(), log.cleanup(qa, a.ref)]));
    const f = follow(path);
    await f.until((r) => r.lines === 9);

    appendFileSync(path, text([log.sent(qa, a.email), ...log.otherMail(), log.cleanup(qb, b.ref)]));
    await f.until((r) => r.recorded === 1 && r.lines === 19);
    expect(await typesOf(a)).toEqual(['email_delivered']);

    // Half a line: nothing happens until the rest arrives.
    const line = log.bounced(qb, b.email);
    appendFileSync(path, line.slice(0, 60));
    const before = await f.caughtUp();
    expect(before.lines).toBe(19);
    expect(await typesOf(b)).toEqual([]);
    appendFileSync(path, `${line.slice(60)}\n`);
    const after = await f.until((r) => r.lines === 20);
    expect(after).toMatchObject({ ours: 4, events: 2, recorded: 2, duplicates: 0 });
    expect(await maillogEvents(b.ref)).toMatchObject([{ type: 'email_bounced', reason: 'user_unknown' }]);

    await f.stop();
    const st = statSync(path, { bigint: true });
    expect(await cursorOf(path)).toMatchObject({ inode: String(st.ino), offset: Number(st.size) });
  });

  it('resumes after a restart without recording anything twice, joining a status line to a message-id line read before the restart', async () => {
    const [a, b] = [await sentMessage(t), await sentMessage(t)];
    const [qa, qb] = [newQid(), newQid()];
    const path = join(dir, 'restart.log');
    writeFileSync(path, text([log.cleanup(qa, a.ref), log.cleanup(qb, b.ref), ...log.otherMail(), log.sent(qa, a.email)]));
    let f = follow(path);
    await f.until((r) => r.recorded === 1);
    await f.stop();
    expect(await queueIds()).toContain(qb);

    // Written while the follower was down: b's status line, whose message-id line it read before.
    appendFileSync(path, text([...log.otherMail(), log.deferred(qb, b.email), log.sent(qb, b.email), log.removed(qb)]));
    f = follow(path);
    const second = await f.until((r) => r.lines === 11);
    await f.stop();
    expect(second).toEqual({ lines: 11, ours: 3, events: 2, recorded: 2, duplicates: 0, unmatched: 0 });
    expect(await typesOf(a)).toEqual(['email_delivered']);
    expect(await typesOf(b)).toEqual(['email_deferred', 'email_delivered']);
    expect(await queueIds()).not.toContain(qb);

    // Down again, and meanwhile the log was rotated (mail.log → mail.log.1) after one more line:
    // that line is read from the rotated file, then the new file from its start.
    const c = await sentMessage(t);
    const qc = newQid();
    appendFileSync(path, text([log.cleanup(qc, c.ref)]));
    renameSync(path, `${path}.1`);
    writeFileSync(path, text([...log.otherMail(), log.bounced(qc, c.email)]));
    f = follow(path);
    const third = await f.until((r) => r.lines === 10);
    await f.stop();
    expect(third).toEqual({ lines: 10, ours: 2, events: 1, recorded: 1, duplicates: 0, unmatched: 0 });
    expect(await typesOf(c)).toEqual(['email_bounced']);
    expect(await typesOf(b)).toEqual(['email_deferred', 'email_delivered']);
  });

  it('survives rename rotation: finishes the old file (even lines written to it late), then reads the new one', async () => {
    const [a, b, c] = [await sentMessage(t), await sentMessage(t), await sentMessage(t)];
    const [qa, qb, qc] = [newQid(), newQid(), newQid()];
    const path = join(dir, 'rotate.log');
    writeFileSync(path, text([log.cleanup(qa, a.ref), log.cleanup(qb, b.ref), log.sent(qa, a.email)]));
    const f = follow(path);
    await f.until((r) => r.recorded === 1);

    renameSync(path, `${path}.1`);
    await f.caughtUp(); // no file at the path for a moment: the follower keeps the old one
    appendFileSync(`${path}.1`, text([log.sent(qb, b.email)])); // the writer had not reopened yet
    writeFileSync(path, text([log.cleanup(qc, c.ref), ...log.otherMail(), log.sent(qc, c.email)]));
    await f.until((r) => r.recorded === 3);
    await f.stop();
    expect(await typesOf(b)).toEqual(['email_delivered']);
    expect(await typesOf(c)).toEqual(['email_delivered']);
    const st = statSync(path, { bigint: true });
    expect(await cursorOf(path)).toMatchObject({ inode: String(st.ino), offset: Number(st.size) });
  });

  it('survives copytruncate rotation, whether or not the file has grown again before it looks', async () => {
    const [a, b, c] = [await sentMessage(t), await sentMessage(t), await sentMessage(t)];
    const [qa, qb, qc] = [newQid(), newQid(), newQid()];
    const path = join(dir, 'copytruncate.log');
    writeFileSync(path, text([log.cleanup(qa, a.ref), ...log.otherMail(), log.sent(qa, a.email)]));
    const f = follow(path);
    await f.until((r) => r.recorded === 1);

    // Truncated, seen empty, then written again.
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    await f.caughtUp();
    appendFileSync(path, text([log.cleanup(qb, b.ref), log.sent(qb, b.email)]));
    await f.until((r) => r.recorded === 2);

    // Truncated and at once written past the old end (perhaps before the follower looks): the
    // byte before the stored offset is no longer a newline, so it starts over.
    const offset = statSync(path).size;
    truncateSync(path, 0);
    let fresh = text([log.cleanup(qc, c.ref), ...log.otherMail(), log.sent(qc, c.email)]);
    if (fresh[offset - 1] === '\n') fresh = `x${fresh}`;
    expect(fresh.length).toBeGreaterThan(offset);
    appendFileSync(path, fresh);
    const r = await f.until((x) => x.recorded === 3);
    await f.stop();
    expect(r.duplicates).toBe(0);
    expect(await typesOf(a)).toEqual(['email_delivered']);
    expect(await typesOf(b)).toEqual(['email_delivered']);
    expect(await typesOf(c)).toEqual(['email_delivered']);
    expect(readFileSync(`${path}.1`, 'utf8')).toContain(a.ref);
  });

  it('refuses to follow a file that is not there', async () => {
    await expect(followMaillog(t.app.ctx, join(dir, 'missing.log'), { signal: new AbortController().signal })).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringContaining('no such file') });
  });
});
