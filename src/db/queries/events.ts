import type { Db } from '../database.ts';
import { toJsonColumn } from '../dialect.ts';

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
