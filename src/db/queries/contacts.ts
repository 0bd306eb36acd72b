import type SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, sql } from 'kysely';
import type { Contact, ContactDraft } from '../../domain/contacts.ts';
import type { Db } from '../database.ts';
import { attributeText, escapeLike, fromJsonColumn, mergeAttributesSql, toJsonColumn } from '../dialect.ts';
import type { ContactRow } from '../tables.ts';

/** Maps a row (and its external ids) to the domain shape. */
function toContact(row: ContactRow, externalIds: Record<string, string>): Contact {
  return {
    id: row.id,
    email: row.email,
    firstName: row.firstName,
    lastName: row.lastName,
    locale: row.locale,
    timezone: row.timezone,
    currency: row.currency,
    phone: row.phone,
    externalIds,
    attributes: fromJsonColumn(row.attributes),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Reads the external ids of many contacts at once, grouped by contact. */
export async function selectExternalIds(db: Db, contactIds: readonly number[]): Promise<Map<number, Record<string, string>>> {
  const out = new Map<number, Record<string, string>>();
  if (contactIds.length === 0) return out;
  const rows = await db.k.selectFrom('contactExternalIds').selectAll().where('contactId', 'in', contactIds).execute();
  for (const r of rows) {
    const m = out.get(r.contactId) ?? {};
    m[r.source] = r.externalId;
    out.set(r.contactId, m);
  }
  return out;
}

/** True when a contact with this id exists (a point lookup; no profile read). */
export async function contactExists(db: Db, id: number): Promise<boolean> {
  return (await db.k.selectFrom('contacts').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}

/** Reads one contact by id. */
export async function selectContact(db: Db, id: number): Promise<Contact | undefined> {
  const row = await db.k.selectFrom('contacts').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  return toContact(row, (await selectExternalIds(db, [id])).get(id) ?? {});
}

export interface ContactFilter {
  /** Only contacts whose lower-cased address starts with this. */
  emailPrefix?: string;
  /** Only contacts whose attributes have these text values (all of them). */
  attributes?: { name: string; value: string }[];
  /** Keyset cursor: only ids greater than this. */
  afterId?: number;
  limit: number;
}

/** Reads a page of contacts in id order, filtered; the caller asks for limit+1 to know if more exist. */
export async function selectContacts(db: Db, f: ContactFilter): Promise<Contact[]> {
  let q = db.k.selectFrom('contacts').selectAll().orderBy('id').limit(f.limit);
  if (f.afterId !== undefined) q = q.where('id', '>', f.afterId);
  if (f.emailPrefix) q = q.where(sql<boolean>`email_key LIKE ${escapeLike(f.emailPrefix.toLowerCase()) + '%'} ESCAPE '\\'`);
  for (const a of f.attributes ?? []) q = q.where(attributeText(db.dialect, a.name), '=', a.value);
  const rows = await q.execute();
  const ext = await selectExternalIds(db, rows.map((r) => r.id));
  return rows.map((r) => toContact(r, ext.get(r.id) ?? {}));
}

/** Inserts one contact; throws the driver's unique violation if the address exists. Returns the id. */
export async function insertContact(db: Db, d: ContactDraft & { email: string; emailKey: string; emailDomain: string }, now: number): Promise<number> {
  const r = upsertRowFrom(d);
  const row = await db.k
    .insertInto('contacts')
    .values({ ...r, attributes: toJsonColumn(stripNulls(r.attributes)), createdAt: now, updatedAt: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Changes the given fields of one contact; attributes are merged (null removes a key). Returns false if absent. */
export async function updateContact(db: Db, id: number, d: ContactDraft, now: number): Promise<boolean> {
  const set: Record<string, unknown> = { updatedAt: now };
  if (d.email !== undefined) Object.assign(set, { email: d.email, emailKey: d.emailKey, emailDomain: d.emailDomain });
  for (const f of ['firstName', 'lastName', 'locale', 'timezone', 'currency', 'phone'] as const) {
    if (d[f] !== undefined) set[f] = d[f];
  }
  if (d.attributes !== undefined) {
    set.attributes = db.dialect === 'postgres'
      ? sql`jsonb_strip_nulls(attributes || ${toJsonColumn(d.attributes)}::jsonb)`
      : sql`json_patch(attributes, ${toJsonColumn(d.attributes)})`;
  }
  const q = db.k.updateTable('contacts').where('id', '=', id).set(set as never);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Deletes one contact (its subscriptions and external ids cascade; the consent log keeps its rows). */
export async function deleteContact(db: Db, id: number): Promise<boolean> {
  const r = await db.k.deleteFrom('contacts').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Sets (replaces per source) external ids of one contact. */
export async function upsertExternalIds(db: Db, rows: readonly { contactId: number; source: string; externalId: string }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.k
    .insertInto('contactExternalIds')
    .values(rows as { contactId: number; source: string; externalId: string }[])
    .onConflict((oc) => oc.columns(['contactId', 'source']).doUpdateSet({ externalId: (eb) => eb.ref('excluded.externalId') }))
    .execute();
}

/** Finds which contacts own the given (source, external id) pairs: key `source\u0000id` → contact id. */
export async function selectExternalIdOwners(db: Db, pairs: readonly { source: string; externalId: string }[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const bySource = new Map<string, string[]>();
  for (const p of pairs) bySource.set(p.source, [...(bySource.get(p.source) ?? []), p.externalId]);
  for (const [source, ids] of bySource) {
    const rows = await db.k
      .selectFrom('contactExternalIds')
      .select(['contactId', 'externalId'])
      .where('source', '=', source)
      .where('externalId', 'in', ids)
      .execute();
    for (const r of rows) out.set(`${source}\u0000${r.externalId}`, r.contactId);
  }
  return out;
}

/** A draft as a full row: every column set, null for "keep what is stored". */
interface UpsertRow {
  email: string;
  emailKey: string;
  emailDomain: string;
  firstName: string | null;
  lastName: string | null;
  locale: string | null;
  timezone: string | null;
  currency: string | null;
  phone: string | null;
  attributes: Record<string, unknown>;
}

/** A full row from a draft: fields the draft leaves out are null (which the upsert reads as "keep"). */
function upsertRowFrom(d: ContactDraft & { email: string; emailKey: string; emailDomain: string }): UpsertRow {
  return {
    email: d.email,
    emailKey: d.emailKey,
    emailDomain: d.emailDomain,
    firstName: d.firstName ?? null,
    lastName: d.lastName ?? null,
    locale: d.locale ?? null,
    timezone: d.timezone ?? null,
    currency: d.currency ?? null,
    phone: d.phone ?? null,
    attributes: d.attributes ?? {},
  };
}

const UPSERT_COLUMNS = ['email', 'email_key', 'email_domain', 'first_name', 'last_name', 'locale', 'timezone', 'currency', 'phone', 'attributes', 'created_at', 'updated_at'];
/** Columns an upsert fills only when given: an empty cell or absent field keeps what is stored. */
const KEPT_COLUMNS = ['first_name', 'last_name', 'locale', 'timezone', 'currency', 'phone'];
/** Rows per upsert call: one PostgreSQL statement (65,535 parameters at most, 12 a row), one SQLite address lookup. */
export const UPSERT_BATCH = 500;
const upsertSqlCache = new Map<number, string>();

// PostgreSQL's import statement. Building it through the query builder costs more than running
// it, so its text is made once per row count and reused with new parameters.
function upsertSqlPostgres(n: number): string {
  let text = upsertSqlCache.get(n);
  if (text) return text;
  const cols = UPSERT_COLUMNS.length;
  const tuples: string[] = [];
  for (let r = 0; r < n; r++) tuples.push(`(${UPSERT_COLUMNS.map((_, c) => `$${r * cols + c + 1}`).join(', ')})`);
  // The address's display form stays the first seen; xmax = 0 marks a row this statement inserted.
  text =
    `INSERT INTO contacts (${UPSERT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')} ` +
    `ON CONFLICT (email_key) DO UPDATE SET ${KEPT_COLUMNS.map((c) => `${c} = COALESCE(excluded.${c}, contacts.${c})`).join(', ')}, ` +
    `attributes = ${mergeAttributesSql('postgres', 'contacts.attributes', 'excluded.attributes')}, updated_at = excluded.updated_at ` +
    `RETURNING id, email_key AS "emailKey", (xmax = 0) AS "inserted"`;
  upsertSqlCache.set(n, text);
  return text;
}

// SQLite: statements prepared once per connection. Measured (bench/sqlite-write-shapes.ts): one
// prepared single-row INSERT per new contact is ~40% cheaper than a 500-row INSERT … ON CONFLICT
// … RETURNING, and a batch of an import is mostly new contacts. ON CONFLICT DO NOTHING tells a
// new address from a known one without a lookup first (one index search a row fewer).
interface SqliteContactStatements {
  insertNew: SqliteDatabase.Statement;
  updateByKey: SqliteDatabase.Statement;
}
const sqliteStatements = new WeakMap<SqliteDatabase.Database, SqliteContactStatements>();

function statementsFor(sqlite: SqliteDatabase.Database): SqliteContactStatements {
  let s = sqliteStatements.get(sqlite);
  if (!s) {
    s = {
      insertNew: sqlite.prepare(`INSERT INTO contacts (${UPSERT_COLUMNS.join(', ')}) VALUES (${UPSERT_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT (email_key) DO NOTHING`),
      updateByKey: sqlite.prepare(
        `UPDATE contacts SET ${KEPT_COLUMNS.map((c) => `${c} = COALESCE(?, ${c})`).join(', ')}, ` +
          `attributes = ${mergeAttributesSql('sqlite', 'attributes', '?')}, updated_at = ? WHERE email_key = ? RETURNING id`,
      ),
    };
    sqliteStatements.set(sqlite, s);
  }
  return s;
}

function upsertContactRowsSqlite(sqlite: SqliteDatabase.Database, v: readonly (string | null)[], now: number): UpsertResult {
  const st = statementsFor(sqlite);
  const n = v.length / UPSERT_VALUES;
  const ids: number[] = new Array(n);
  const created: boolean[] = new Array(n);
  for (let i = 0, o = 0; i < n; i++, o += UPSERT_VALUES) {
    const attributes = v[o + 9] ?? '{}';
    const info = st.insertNew.run(v[o], v[o + 1], v[o + 2], v[o + 3], v[o + 4], v[o + 5], v[o + 6], v[o + 7], v[o + 8], attributes, now, now);
    if (info.changes === 1) {
      ids[i] = Number(info.lastInsertRowid);
      created[i] = true;
    } else {
      const row = st.updateByKey.get(v[o + 3], v[o + 4], v[o + 5], v[o + 6], v[o + 7], v[o + 8], attributes, now, v[o + 1]) as { id: number };
      ids[i] = Number(row.id);
      created[i] = false;
    }
  }
  return { ids, created };
}

/**
 * Values a row in upsertContactRows' input, in this order: email, email key, email domain, first
 * name, last name, locale, time zone, currency, phone, attributes as JSON text.
 */
export const UPSERT_VALUES = 10;

/** Each upserted row's id and whether the call created it, in the order of the rows given. */
export interface UpsertResult {
  ids: number[];
  created: boolean[];
}

/**
 * Inserts or updates up to UPSERT_BATCH contacts by email key (keys must be distinct), given as
 * UPSERT_VALUES values a row: one INSERT … ON CONFLICT statement on PostgreSQL, prepared
 * single-row statements on SQLite. A null keeps what is stored; attributes are merged. Changes
 * `contacts` only. Call it inside a transaction (storeContactBatch does): on SQLite a row's
 * INSERT and its UPDATE must see no other writer in between.
 */
export async function upsertContactRows(db: Db, values: readonly (string | null)[], now: number): Promise<UpsertResult> {
  const n = values.length / UPSERT_VALUES;
  if (n === 0) return { ids: [], created: [] };
  if (db.sqlite) return upsertContactRowsSqlite(db.sqlite, values, now);
  const params: unknown[] = [];
  for (let o = 0; o < values.length; o += UPSERT_VALUES) {
    for (let c = 0; c < 9; c++) params.push(values[o + c]);
    params.push(values[o + 9] ?? '{}', now, now);
  }
  const result = await db.k.executeQuery<{ id: number; emailKey: string; inserted?: boolean }>(CompiledQuery.raw(upsertSqlPostgres(n), params));
  // RETURNING gives no order; rows are matched by their key.
  const at = new Map<string, number>();
  for (let i = 0; i < n; i++) at.set(values[i * UPSERT_VALUES + 1]!, i);
  const out: UpsertResult = { ids: new Array(n), created: new Array(n) };
  for (const r of result.rows) {
    const i = at.get(r.emailKey)!;
    out.ids[i] = Number(r.id);
    out.created[i] = r.inserted === true;
  }
  return out;
}

function stripNulls(attrs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== null));
}

/** Reads the ids of the contacts with these email keys: key → id. */
export async function selectContactIdsByEmailKeys(db: Db, keys: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < keys.length; i += 1000) {
    const rows = await db.k.selectFrom('contacts').select(['id', 'emailKey']).where('emailKey', 'in', keys.slice(i, i + 1000)).execute();
    for (const r of rows) if (r.emailKey !== null) out.set(r.emailKey, r.id);
  }
  return out;
}

/** Reads the distinct external-id sources in use, sorted. */
export async function selectExternalIdSources(db: Db): Promise<string[]> {
  const rows = await db.k.selectFrom('contactExternalIds').select('source').distinct().orderBy('source').execute();
  return rows.map((r) => r.source);
}
