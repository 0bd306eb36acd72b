import type { Db } from '../database.ts';
import { fromJsonColumn, toJsonColumn } from '../dialect.ts';

/** An event as stored: something a contact did or that happened to a message. */
export interface EventRecord {
  id: number;
  type: string;
  contactId: number | null;
  messageRef: string | null;
  properties: Record<string, unknown>;
  ip: string | null;
  userAgent: string | null;
  occurredAt: number;
}

/** Appends one event. Returns its id. */
export async function insertEvent(db: Db, e: Omit<EventRecord, 'id'>): Promise<number> {
  const row = await db.k
    .insertInto('events')
    .values({ ...e, properties: toJsonColumn(e.properties) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Reads a contact's events, newest first. */
export async function selectContactEvents(db: Db, contactId: number, limit: number): Promise<EventRecord[]> {
  const rows = await db.k.selectFrom('events').selectAll().where('contactId', '=', contactId).orderBy('occurredAt', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({ ...r, properties: fromJsonColumn(r.properties) }));
}

/** Reads a message's events, oldest first. */
export async function selectMessageEvents(db: Db, messageRef: string): Promise<EventRecord[]> {
  const rows = await db.k.selectFrom('events').selectAll().where('messageRef', '=', messageRef).orderBy('id').execute();
  return rows.map((r) => ({ ...r, properties: fromJsonColumn(r.properties) }));
}
