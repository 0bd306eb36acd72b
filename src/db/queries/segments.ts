import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../database.ts';
import { fromJsonColumn, toJsonColumn } from '../dialect.ts';
import type { DataSource, SegmentNode } from '../../domain/segments.ts';
import { selectSegmentContactIds } from './segment-sql.ts';

/** A saved segment as stored. */
export interface SegmentRow {
  id: number;
  key: string;
  name: string;
  version: number;
  definition: SegmentNode;
  memberCount: number;
  refreshedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

const toSegment = (r: { definition: unknown } & Omit<SegmentRow, 'definition'>): SegmentRow => ({ ...r, definition: fromJsonColumn<SegmentNode>(r.definition) });

/** Reads every saved segment, by key. */
export async function selectSegments(db: Db): Promise<SegmentRow[]> {
  return (await db.k.selectFrom('segments').selectAll().orderBy('key').execute()).map(toSegment);
}

/** Reads one saved segment by key. */
export async function selectSegmentByKey(db: Db, key: string): Promise<SegmentRow | undefined> {
  const row = await db.k.selectFrom('segments').selectAll().where('key', '=', key).executeTakeFirst();
  return row && toSegment(row);
}

/** Inserts a segment and its version 1; throws the driver's unique violation when the key exists. */
export async function insertSegment(db: Db, s: { key: string; name: string; definition: SegmentNode }, now: number): Promise<SegmentRow> {
  const row = await db.k
    .insertInto('segments')
    .values({ key: s.key, name: s.name, version: 1, definition: toJsonColumn(s.definition), createdAt: now, updatedAt: now })
    .returningAll()
    .executeTakeFirstOrThrow();
  await db.k.insertInto('segmentVersions').values({ segmentId: row.id, version: 1, definition: toJsonColumn(s.definition), createdAt: now }).execute();
  return toSegment(row);
}

/** Stores a new version of a segment's definition (and its name); the old versions stay in segment_versions. */
export async function updateSegmentVersion(db: Db, id: number, s: { name: string; version: number; definition: SegmentNode }, now: number): Promise<void> {
  await db.k.updateTable('segments').set({ name: s.name, version: s.version, definition: toJsonColumn(s.definition), updatedAt: now }).where('id', '=', id).execute();
  await db.k.insertInto('segmentVersions').values({ segmentId: id, version: s.version, definition: toJsonColumn(s.definition), createdAt: now }).execute();
}

/** Deletes a segment; its versions and members go with it (cascade). */
export async function deleteSegment(db: Db, id: number): Promise<void> {
  await db.k.deleteFrom('segments').where('id', '=', id).execute();
}

/** Reads the keys of segments whose definition mentions `key` as a membership condition (so it cannot be deleted). */
export async function selectSegmentKeysReferring(db: Db, key: string): Promise<string[]> {
  // A cheap text prefilter; the caller confirms on the parsed definition.
  const rows = await db.k.selectFrom('segments').select(['key', 'definition']).execute();
  return rows.filter((r) => JSON.stringify(fromJsonColumn(r.definition)).includes(`"segment":${JSON.stringify(key)}`)).map((r) => r.key);
}

/**
 * Adds the contacts that match now and are not yet members (among `candidates` when given).
 * Returns the ids that entered. Changes segment_members.
 */
export async function insertEnteredMembers(db: Db, p: { segmentId: number; definition: SegmentNode; now: number; candidates?: RawBuilder<unknown> }): Promise<number[]> {
  const members = selectSegmentContactIds(db, p.definition, p.now, p.candidates);
  const r = await sql<{ contactId: number }>`INSERT INTO segment_members (segment_id, contact_id, since)
    SELECT CAST(${p.segmentId} AS BIGINT), q.id, CAST(${p.now} AS BIGINT) FROM (${members}) q
    WHERE NOT EXISTS (SELECT 1 FROM segment_members x WHERE x.segment_id = ${p.segmentId} AND x.contact_id = q.id)
    RETURNING contact_id`.execute(db.k);
  return r.rows.map((x) => Number(x.contactId));
}

/**
 * Removes members that no longer match (among `candidates` when given). Returns the ids that left.
 * Changes segment_members. SQLite answers NOT IN with one temporary index; PostgreSQL plans NOT
 * EXISTS as an anti-join (its NOT IN over a large subquery can degrade to a loop).
 */
export async function deleteExitedMembers(db: Db, p: { segmentId: number; definition: SegmentNode; now: number; candidates?: RawBuilder<unknown> }): Promise<number[]> {
  const members = selectSegmentContactIds(db, p.definition, p.now, p.candidates);
  const among = p.candidates ? sql` AND sm.contact_id IN (${p.candidates})` : sql``;
  const gone = db.dialect === 'postgres' ? sql`NOT EXISTS (SELECT 1 FROM (${members}) q WHERE q.id = sm.contact_id)` : sql`sm.contact_id NOT IN (${members})`;
  const r = await sql<{ contactId: number }>`DELETE FROM segment_members AS sm WHERE sm.segment_id = ${p.segmentId}${among} AND ${gone} RETURNING contact_id`.execute(db.k);
  return r.rows.map((x) => Number(x.contactId));
}

/** Records a refresh: member count and time. Reads segment_members, changes segments. */
export async function markSegmentRefreshed(db: Db, id: number, now: number): Promise<number> {
  const { n } = await db.k.selectFrom('segmentMembers').select((eb) => eb.fn.countAll<number>().as('n')).where('segmentId', '=', id).executeTakeFirstOrThrow();
  await db.k.updateTable('segments').set({ memberCount: Number(n), refreshedAt: now }).where('id', '=', id).execute();
  return Number(n);
}

/** Reads a page of a segment's materialised members (contact ids with the time they entered). */
export async function selectSegmentMembers(db: Db, p: { segmentId: number; afterContactId?: number; limit: number }): Promise<{ contactId: number; since: number }[]> {
  let q = db.k.selectFrom('segmentMembers').select(['contactId', 'since']).where('segmentId', '=', p.segmentId).orderBy('contactId').limit(p.limit);
  if (p.afterContactId !== undefined) q = q.where('contactId', '>', p.afterContactId);
  return q.execute();
}

/**
 * Reads the ids of contacts whose data in `sources` changed at or after `since`: the only contacts an
 * incremental refresh recomputes. Event changes are seen by occurred_at (an event is immutable;
 * one arriving late with an old time waits for the scheduled full refresh); another segment's
 * membership changes are seen by its segment_entered/segment_exited events.
 */
export async function selectChangedContactIds(db: Db, sources: ReadonlySet<DataSource>, since: number): Promise<number[]> {
  const r = await sql<{ contactId: number | null }>`${changedContactIds(sources, since)}`.execute(db.k);
  const ids = new Set<number>();
  for (const x of r.rows) if (x.contactId !== null) ids.add(Number(x.contactId));
  return [...ids];
}

/** A list of contact ids as one bound parameter (a JSON array), usable as `c.id IN (…)` however long it is. */
export function contactIdList(db: Db, ids: readonly number[]): RawBuilder<unknown> {
  const json = JSON.stringify(ids);
  return db.dialect === 'postgres' ? sql`SELECT CAST(jsonb_array_elements_text(CAST(${json} AS jsonb)) AS bigint)` : sql`SELECT value FROM json_each(${json})`;
}

function changedContactIds(sources: ReadonlySet<DataSource>, since: number): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  for (const s of sources) {
    switch (s) {
      case 'contacts':
        parts.push(sql`SELECT id AS contact_id FROM contacts WHERE updated_at >= ${since}`);
        break;
      case 'subscriptions':
        parts.push(sql`SELECT contact_id FROM subscriptions WHERE updated_at >= ${since}`);
        break;
      case 'orders':
        parts.push(sql`SELECT contact_id FROM orders WHERE updated_at >= ${since}`);
        break;
      case 'contact_metrics':
        parts.push(sql`SELECT contact_id FROM contact_metrics WHERE updated_at >= ${since} OR rfm_scored_at >= ${since}`);
        break;
      case 'carts':
        parts.push(sql`SELECT contact_id FROM carts WHERE updated_at >= ${since}`);
        break;
      case 'events':
        parts.push(sql`SELECT contact_id FROM events WHERE occurred_at >= ${since} AND type NOT IN ('segment_entered', 'segment_exited')`);
        break;
      case 'messages':
        parts.push(sql`SELECT contact_id FROM messages WHERE updated_at >= ${since}`);
        break;
      case 'segment_members':
        parts.push(sql`SELECT contact_id FROM events WHERE occurred_at >= ${since} AND type IN ('segment_entered', 'segment_exited')`);
        break;
    }
  }
  // UNION ALL, deduplicated by the caller: a UNION (or a NULL filter around it) makes SQLite read
  // each table in contact_id order through orders_contact, scanning all of orders instead of
  // using an updated_at index (seconds instead of milliseconds at 5M orders).
  return sql.join(parts, sql` UNION ALL `);
}
