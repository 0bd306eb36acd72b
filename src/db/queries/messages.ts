import { sql, type Selectable } from 'kysely';
import type { MessageStatus } from '../../domain/messages.ts';
import { inTransaction, type Db } from '../database.ts';
import { sqliteStatement } from '../prepared.ts';
import { fromJsonColumn, toJsonColumn } from '../dialect.ts';
import type { MessageHistoryTable, MessagesTable } from '../tables.ts';

/** An outbox row as the services see it (JSON columns parsed). */
export interface MessageRow extends Omit<Selectable<MessagesTable>, 'content' | 'data' | 'status'> {
  status: MessageStatus;
  content: MessageContent | null;
  data: Record<string, unknown>;
}

/** Inline content of a message sent without a stored template. */
export interface MessageContent {
  subject: string;
  html: string | null;
  text: string | null;
  fromName: string;
  fromEmail: string;
  replyTo: string | null;
}

export type HistoryRow = Selectable<MessageHistoryTable>;

export type NewMessage = Omit<MessageRow, 'id' | 'leaseOwner' | 'attempts' | 'transport' | 'providerMessageId' | 'lastResponse' | 'sentAt'>;

function fromRow(r: Selectable<MessagesTable>): MessageRow {
  return { ...r, status: r.status as MessageStatus, content: r.content == null ? null : fromJsonColumn<MessageContent>(r.content), data: fromJsonColumn(r.data) };
}

/**
 * Inserts a message unless its idempotency key exists; either way returns the stored row and
 * whether this call created it. The unique index decides, so two concurrent callers get one row.
 */
export async function insertMessage(db: Db, m: NewMessage, history: { status: MessageStatus; response: string | null }): Promise<{ message: MessageRow; created: boolean }> {
  return inTransaction(db, async (tx) => {
    const inserted = await tx.k
      .insertInto('messages')
      .values({ ...m, content: m.content === null ? null : toJsonColumn(m.content), data: toJsonColumn(m.data) })
      .onConflict((oc) => oc.column('idempotencyKey').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) {
      await tx.k.insertInto('messageHistory').values({ messageId: inserted.id, status: history.status, response: history.response, at: m.createdAt }).execute();
      return { message: fromRow(inserted), created: true };
    }
    const existing = await tx.k.selectFrom('messages').selectAll().where('idempotencyKey', '=', m.idempotencyKey).executeTakeFirstOrThrow();
    return { message: fromRow(existing), created: false };
  });
}

export async function selectMessage(db: Db, id: number): Promise<MessageRow | undefined> {
  const r = await db.k.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? fromRow(r) : undefined;
}

export async function selectMessageByRef(db: Db, ref: string): Promise<MessageRow | undefined> {
  const r = await db.k.selectFrom('messages').selectAll().where('ref', '=', ref).executeTakeFirst();
  return r ? fromRow(r) : undefined;
}

export async function selectHistory(db: Db, messageId: number): Promise<HistoryRow[]> {
  return db.k.selectFrom('messageHistory').selectAll().where('messageId', '=', messageId).orderBy('id').execute();
}

/** Lists messages newest first, with optional filters; `beforeId` is the cursor. */
export async function selectMessages(db: Db, f: { status?: MessageStatus; to?: string; contactId?: number; campaignId?: number; beforeId?: number; limit: number }): Promise<MessageRow[]> {
  let q = db.k.selectFrom('messages').selectAll().orderBy('id', 'desc').limit(f.limit);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.to) q = q.where('toEmail', '=', f.to);
  if (f.contactId !== undefined) q = q.where('contactId', '=', f.contactId);
  if (f.campaignId !== undefined) q = q.where('campaignId', '=', f.campaignId);
  if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
  return (await q.execute()).map(fromRow);
}

/**
 * Claims up to `limit` due messages for a worker: queued and deferred rows whose time has come,
 * and `sending` rows whose lease ran out (their worker died). The row's due time becomes the
 * lease's end. PostgreSQL skips rows other workers are claiming (SKIP LOCKED); SQLite has one
 * writer at a time (BEGIN IMMEDIATE), so the same statement is safe there too.
 */
export async function claimMessages(db: Db, c: { owner: string; now: number; leaseMs: number; limit: number }): Promise<MessageRow[]> {
  const lock = db.dialect === 'postgres' ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  const run = (tx: Db) =>
    sql<Selectable<MessagesTable>>`
      UPDATE messages SET status = 'sending', lease_owner = ${c.owner}, due_at = ${c.now + c.leaseMs}, updated_at = ${c.now}
      WHERE id IN (
        SELECT id FROM messages
        WHERE status IN ('queued', 'deferred', 'sending') AND due_at <= ${c.now}
        ORDER BY due_at LIMIT ${c.limit} ${lock}
      )
      RETURNING *`.execute(tx.k);
  const result = await inTransaction(db, run);
  // The CamelCasePlugin maps raw results too; UPDATE … RETURNING has no order, so sort here.
  return result.rows.map(fromRow).sort((a, b) => a.dueAt - b.dueAt || a.id - b.id);
}

/** What happened to a claimed message, to be written when its worker still holds the lease. */
export interface MessageOutcome {
  id: number;
  status: MessageStatus;
  dueAt: number;
  /** Whether this outcome was an attempt at the transport (counts toward `attempts`). */
  attempted: boolean;
  transport?: string | null;
  providerMessageId?: string | null;
  lastResponse?: string | null;
  reason?: string | null;
  sentAt?: number | null;
  history: { code?: number | null; enhanced?: string | null; response: string | null } | null;
  /** Transports tried first in the same attempt that could not take the message (failover), in order. */
  failedOver?: { transport: string; code: number | null; enhanced: string | null; response: string }[];
}

/**
 * Records outcomes of one worker's messages in one transaction. A row is only written while the
 * worker still holds its lease (status sending, same owner): a worker that stalled past its
 * lease must not overwrite what the worker that took the row over recorded. Returns the ids written.
 */
export async function recordOutcomes(db: Db, owner: string, now: number, outcomes: MessageOutcome[]): Promise<number[]> {
  if (outcomes.length === 0) return [];
  return inTransaction(db, async (tx) => {
    if (tx.sqlite) return recordOutcomesSqlite(tx, owner, now, outcomes);
    const written: number[] = [];
    for (const o of outcomes) {
      const updated = await tx.k
        .updateTable('messages')
        .set({
          status: o.status,
          dueAt: o.dueAt,
          leaseOwner: null,
          updatedAt: now,
          ...(o.attempted ? { attempts: sql<number>`attempts + 1` } : {}),
          ...(o.transport !== undefined ? { transport: o.transport } : {}),
          ...(o.providerMessageId !== undefined ? { providerMessageId: o.providerMessageId } : {}),
          ...(o.lastResponse !== undefined ? { lastResponse: o.lastResponse } : {}),
          ...(o.reason !== undefined ? { reason: o.reason } : {}),
          ...(o.sentAt !== undefined ? { sentAt: o.sentAt } : {}),
        })
        .where('id', '=', o.id)
        .where('status', '=', 'sending')
        .where('leaseOwner', '=', owner)
        .returning('attempts')
        .executeTakeFirst();
      if (!updated) continue;
      written.push(o.id);
      for (const f of o.failedOver ?? []) {
        await tx.k
          .insertInto('messageHistory')
          .values({ messageId: o.id, status: 'deferred', attempt: updated.attempts, transport: f.transport, code: f.code, enhanced: f.enhanced, response: f.response, at: now })
          .execute();
      }
      if (o.history) {
        await tx.k
          .insertInto('messageHistory')
          .values({
            messageId: o.id,
            status: o.status,
            attempt: o.attempted ? updated.attempts : null,
            transport: o.transport ?? null,
            code: o.history.code ?? null,
            enhanced: o.history.enhanced ?? null,
            response: o.history.response,
            at: now,
          })
          .execute();
      }
    }
    return written;
  });
}

// The same writes as prepared statements (SQLite; inside the caller's transaction). Fields an
// outcome leaves undefined keep their value (COALESCE over a flag), as the Kysely path does.
function recordOutcomesSqlite(tx: Db, owner: string, now: number, outcomes: MessageOutcome[]): number[] {
  const update = sqliteStatement(
    tx,
    `UPDATE messages SET status = ?, due_at = ?, lease_owner = NULL, updated_at = ?, attempts = attempts + ?,
       transport = CASE WHEN ? THEN ? ELSE transport END,
       provider_message_id = CASE WHEN ? THEN ? ELSE provider_message_id END,
       last_response = CASE WHEN ? THEN ? ELSE last_response END,
       reason = CASE WHEN ? THEN ? ELSE reason END,
       sent_at = CASE WHEN ? THEN ? ELSE sent_at END
     WHERE id = ? AND status = 'sending' AND lease_owner = ? RETURNING attempts`,
  )!;
  const history = sqliteStatement(tx, 'INSERT INTO message_history (message_id, status, attempt, transport, code, enhanced, response, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')!;
  const set = (v: unknown) => [v !== undefined ? 1 : 0, v ?? null];
  const written: number[] = [];
  for (const o of outcomes) {
    const row = update.get(o.status, o.dueAt, now, o.attempted ? 1 : 0, ...set(o.transport), ...set(o.providerMessageId), ...set(o.lastResponse), ...set(o.reason), ...set(o.sentAt), o.id, owner) as { attempts: number } | undefined;
    if (!row) continue;
    written.push(o.id);
    for (const f of o.failedOver ?? []) history.run(o.id, 'deferred', row.attempts, f.transport, f.code, f.enhanced, f.response, now);
    if (o.history) history.run(o.id, o.status, o.attempted ? row.attempts : null, o.transport ?? null, o.history.code ?? null, o.history.enhanced ?? null, o.history.response, now);
  }
  return written;
}

/** Counts messages a transport handed over since `since` (seeds warm-up counters after a restart). */
export async function countSentSince(db: Db, transport: string, since: number): Promise<number> {
  const r = await db.k.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('transport', '=', transport).where('sentAt', '>=', since).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** The earliest due time among claimable messages, or null (lets an idle worker sleep until then). */
export async function nextDueAt(db: Db): Promise<number | null> {
  const r = await sql<{ d: number | null }>`SELECT MIN(due_at) AS d FROM messages WHERE status IN ('queued', 'deferred', 'sending')`.execute(db.k);
  const d = r.rows[0]?.d;
  return d == null ? null : Number(d);
}

/** Deletes a contact's double opt-in confirmations (they carry the address and the link). Changes `messages`. */
export async function deleteOptinMessages(db: Db, contactId: number): Promise<number> {
  const r = await db.k.deleteFrom('messages').where('contactId', '=', contactId).where('streamId', '=', 'optin').executeTakeFirst();
  return Number(r.numDeletedRows);
}
