import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { correlateMaillog, DEFAULT_QUEUE_WINDOW_MS, queueIdsOf, type QueueEntry } from '../adapters/feedback/maillog-correlator.ts';
import { parseMaillogLine } from '../adapters/feedback/maillog-parser.ts';
import { tailFile } from '../adapters/feedback/log-tail.ts';
import { inTransaction } from '../db/database.ts';
import { deleteMaillogQueue, pruneMaillogQueue, saveMaillogCursor, selectMaillogCursor, selectMaillogQueue, upsertMaillogQueue, type MaillogCursor } from '../db/queries/maillog.ts';
import { AppError, invalid } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';
import { recordFeedback } from './feedback.ts';

/** What reading a mail.log came to. */
export interface MaillogReport {
  lines: number;
  /** Lines about our mail: its message-id, delivery, expiry and removal lines. */
  ours: number;
  /** Feedback events the lines made, and what recordFeedback did with them. */
  events: number;
  recorded: number;
  duplicates: number;
  unmatched: number;
}

export interface MaillogOptions {
  /** The zone of timestamps without one (classic syslog, maillog_file); default this machine's. */
  zone?: 'local' | 'utc';
  /** How long after its message-id line a queue id still names our message. */
  windowMs?: number;
}

export interface FollowOptions extends MaillogOptions {
  signal: AbortSignal;
  /** How often to look for new lines and rotation. */
  pollMs?: number;
  /** Called whenever everything in the file so far is recorded (tests wait on it; the CLI may report). */
  onCaughtUp?: (report: MaillogReport) => void | Promise<void>;
}

const BATCH_LINES = 500;

/**
 * Reads a whole mail.log once (plain or gzip-compressed, e.g. `mail.log.2.gz`) and records the
 * feedback about our mail in it. Safe to repeat: events already recorded count as duplicates.
 * Leaves the follower's cursor alone.
 */
export async function importMaillog(ctx: ServiceContext, path: string, opts: MaillogOptions = {}): Promise<MaillogReport> {
  const report = emptyReport();
  const { gzip } = await checkReadable(path);
  const file = createReadStream(path);
  // pipeline passes a corrupt archive's error on to the stream readline reads.
  const input: Readable = gzip ? pipeline(file, createGunzip(), () => {}) : file;
  let batch: string[] = [];
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      batch.push(line);
      if (batch.length >= BATCH_LINES) {
        await recordMaillogLines(ctx, batch, report, opts);
        batch = [];
      }
    }
  } catch (err) {
    if (!(err as { code?: string }).code?.startsWith('Z_')) throw err;
    if (batch.length > 0) await recordMaillogLines(ctx, batch, report, opts);
    throw new AppError('import_failed', `"${path}" is not a readable gzip file (${(err as Error).message}); ${report.lines} lines were read before it`);
  }
  if (batch.length > 0) await recordMaillogLines(ctx, batch, report, opts);
  return report;
}

/**
 * Follows a mail.log until the signal aborts: resumes where the last run stopped (when the file
 * is the same one), reads lines as they are appended, and survives rotation. The place reached
 * is stored after each batch, together with the queue ids learnt, once its events are recorded.
 */
export async function followMaillog(ctx: ServiceContext, path: string, opts: FollowOptions): Promise<MaillogReport> {
  const abs = resolve(path);
  if ((await checkReadable(abs)).gzip) throw invalid('file', `"${path}" is gzip-compressed: it no longer grows, so import it with \`chapar maillog import\``);
  const stored = await selectMaillogCursor(ctx.db, { path: abs });
  ctx.logger.info({ path: abs, inode: stored?.inode, offset: stored?.offset }, 'following mail.log');
  const report = emptyReport();
  let inode = stored?.inode;
  for await (const item of tailFile(abs, { start: stored ?? null, pollMs: opts.pollMs ?? 500, signal: opts.signal, maxLines: BATCH_LINES })) {
    if (item.kind === 'lines') {
      if (inode !== undefined && item.position.inode !== inode) ctx.logger.info({ path: abs, inode: item.position.inode }, 'reading a new mail.log file (rotated)');
      inode = item.position.inode;
      await recordMaillogLines(ctx, item.lines, report, opts, { path: abs, ...item.position });
    } else await opts.onCaughtUp?.(report);
  }
  return report;
}

/**
 * Records one batch of lines: joins them to the queue ids already known, records their events,
 * then stores what the batch taught (queue ids, the cursor) in one transaction. A crash between
 * the two reads the batch again, and its events come out as duplicates.
 */
async function recordMaillogLines(ctx: ServiceContext, lines: readonly string[], report: MaillogReport, opts: MaillogOptions, cursor?: MaillogCursor): Promise<void> {
  const now = ctx.clock.now();
  const windowMs = opts.windowMs ?? DEFAULT_QUEUE_WINDOW_MS;
  const parsed = lines.map((raw) => ({ raw, parsed: parseMaillogLine(raw, { now, zone: opts.zone ?? 'local' }) }));
  const known = new Map<string, QueueEntry>();
  for (const r of await selectMaillogQueue(ctx.db, { queueIds: queueIdsOf(parsed) })) known.set(r.queueId, { messageId: r.messageId, seenAt: r.seenAt });
  const c = correlateMaillog(parsed, known, windowMs);
  if (c.events.length > 0) {
    for (const r of await recordFeedback(ctx, c.events)) {
      if (r.status === 'applied') report.recorded++;
      else if (r.status === 'duplicate') report.duplicates++;
      else report.unmatched++;
    }
  }
  let latest: number | null = null;
  for (const { parsed: p } of parsed) if (p.kind !== 'other' && (latest === null || p.at > latest)) latest = p.at;
  // A line dated far ahead (a corrupt stamp) must not prune every queue id we know.
  if (latest !== null) latest = Math.min(latest, now + 24 * 3600_000);
  await inTransaction(ctx.db, async (tx) => {
    await deleteMaillogQueue(tx, { queueIds: [...c.deletes] });
    await upsertMaillogQueue(tx, [...c.upserts].map(([queueId, e]) => ({ queueId, ...e })));
    // Against the log's own time, so that importing an old file keeps its ids across batches.
    if (latest !== null) await pruneMaillogQueue(tx, { before: latest - windowMs });
    if (cursor) await saveMaillogCursor(tx, { ...cursor, updatedAt: now });
  });
  report.lines += lines.length;
  report.ours += c.ours;
  report.events += c.events.length;
}

// Checked before any work, so that a wrong path fails with a message saying which. True for a
// gzip-compressed file (rotated logs often are: mail.log.2.gz), recognised by its magic bytes.
async function checkReadable(path: string): Promise<{ gzip: boolean }> {
  try {
    const handle = await open(path, 'r');
    try {
      if (!(await handle.stat()).isFile()) throw Object.assign(new Error('it is not a file'), { code: 'ENOTFILE' });
      const head = Buffer.alloc(2);
      const { bytesRead } = await handle.read(head, 0, 2, 0);
      return { gzip: bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b };
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied (run it as a user who may read the log, e.g. one in the adm group)' : (err as Error).message;
    throw invalid('file', `cannot read "${path}": ${why}`);
  }
}

function emptyReport(): MaillogReport {
  return { lines: 0, ours: 0, events: 0, recorded: 0, duplicates: 0, unmatched: 0 };
}
