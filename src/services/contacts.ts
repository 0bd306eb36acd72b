import { inTransaction, type Db } from '../db/database.ts';
import { isUniqueViolation } from '../db/dialect.ts';
import {
  deleteContact,
  insertContact,
  selectContact,
  selectContacts,
  selectExternalIdOwners,
  updateContact,
  upsertExternalIds,
} from '../db/queries/contacts.ts';
import type { ConsentEvidence, SubscriptionStatus, Topic } from '../domain/consent.ts';
import { validateContactInput, type Contact, type ContactInput } from '../domain/contacts.ts';
import { AppError, type ErrorDetail } from '../lib/errors.ts';
import { storeContactBatch, type BatchRow } from './contact-batches.ts';
import type { ServiceContext } from './context.ts';
import { applySubscriptionChanges, topicStatuses } from './subscriptions.ts';
import { resolveTopics } from './topics.ts';
import { selectTopics } from '../db/queries/topics.ts';

/** A contact with its topic statuses, as the API returns it. */
export type ContactView = Contact & { topics: Record<string, SubscriptionStatus> };

/** What create, update and bulk accept: the profile plus topic statuses and the consent evidence. */
export interface ContactWrite extends ContactInput {
  topics?: Record<string, SubscriptionStatus>;
  consent?: Partial<ConsentEvidence>;
}

function evidenceOf(w: ContactWrite): ConsentEvidence {
  return { source: w.consent?.source ?? 'api', ...w.consent } as ConsentEvidence;
}

function failIfInvalid(errors: ErrorDetail[]): void {
  if (errors.length === 0) return;
  throw new AppError('validation_failed', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
}

/** Reads one contact with its topic statuses. */
export async function getContact(ctx: ServiceContext, id: number): Promise<ContactView> {
  const c = await selectContact(ctx.db, id);
  if (!c) throw new AppError('not_found', `contact ${id} does not exist`);
  return { ...c, topics: await topicStatuses(ctx.db, id) };
}

/** Creates one contact (409 if the address exists), with its external ids and topic statuses. */
export async function createContact(ctx: ServiceContext, w: ContactWrite): Promise<ContactView> {
  const check = validateContactInput(w, { requireEmail: true });
  if (!check.ok) return failIfInvalid(check.errors) as never;
  const draft = check.value as BatchRow['draft'];
  const topics = await resolveTopics(ctx.db, Object.keys(w.topics ?? {}));
  const now = ctx.clock.now();
  const id = await inTransaction(ctx.db, async (tx) => {
    await assertExternalIdsFree(tx, draft.externalIds ?? {}, undefined);
    let id: number;
    try {
      id = await insertContact(tx, draft, now);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', `a contact with email ${draft.email} already exists`, [{ field: 'email', message: 'already exists' }]);
      throw err;
    }
    await writeIdsAndTopics(tx, id, draft.email, draft.externalIds, w, topics, now);
    return id;
  });
  return getContact(ctx, id);
}

/** Changes one contact: given fields are set, null clears, attributes merge (null removes a key). */
export async function changeContact(ctx: ServiceContext, id: number, w: ContactWrite): Promise<ContactView> {
  const check = validateContactInput(w, { requireEmail: false });
  if (!check.ok) return failIfInvalid(check.errors) as never;
  const topics = await resolveTopics(ctx.db, Object.keys(w.topics ?? {}));
  const now = ctx.clock.now();
  await inTransaction(ctx.db, async (tx) => {
    const existing = await selectContact(tx, id);
    if (!existing) throw new AppError('not_found', `contact ${id} does not exist`);
    await assertExternalIdsFree(tx, check.value.externalIds ?? {}, id);
    try {
      await updateContact(tx, id, check.value, now);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', `another contact already has email ${check.value.email}`, [{ field: 'email', message: 'already exists' }]);
      throw err;
    }
    await writeIdsAndTopics(tx, id, check.value.email ?? existing.email, check.value.externalIds, w, topics, now);
  });
  return getContact(ctx, id);
}

/** Deletes one contact. Its consent history stays (detached) as proof; see eraseContact for GDPR erasure. */
export async function removeContact(ctx: ServiceContext, id: number): Promise<void> {
  if (!(await deleteContact(ctx.db, id))) throw new AppError('not_found', `contact ${id} does not exist`);
}

export interface ContactQuery {
  emailPrefix?: string;
  attributes?: { name: string; value: string }[];
  cursor?: string;
  limit: number;
}

/** Lists contacts in creation order with an opaque cursor for the next page. */
export async function listContacts(ctx: ServiceContext, q: ContactQuery): Promise<{ items: Contact[]; nextCursor: string | null }> {
  const afterId = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  const rows = await selectContacts(ctx.db, { emailPrefix: q.emailPrefix, attributes: q.attributes, afterId, limit: q.limit + 1 });
  const items = rows.slice(0, q.limit);
  const more = rows.length > q.limit;
  return { items, nextCursor: more ? encodeCursor(items[items.length - 1]!.id) : null };
}

/**
 * Inserts or updates up to 10,000 contacts by address. Bad rows are listed by index with every
 * error; the good rows are stored together in one transaction.
 */
export async function bulkUpsertContacts(
  ctx: ServiceContext,
  rows: readonly (ContactWrite | { index: number; errors: ErrorDetail[] })[],
): Promise<{ created: number; updated: number; rejected: { index: number; errors: ErrorDetail[] }[]; results: { index: number; id: number; created: boolean }[] }> {
  const rejected: { index: number; errors: ErrorDetail[] }[] = [];
  const good: BatchRow[] = [];
  const topics = new Map((await selectTopics(ctx.db)).map((t) => [t.key, t]));
  rows.forEach((row, index) => {
    if ('errors' in row) return void rejected.push(row as { index: number; errors: ErrorDetail[] });
    const w = row as ContactWrite;
    const check = validateContactInput(w, { requireEmail: true, prefix: `contacts/${index}/` });
    const errors = check.ok ? [] : [...check.errors];
    for (const k of Object.keys(w.topics ?? {})) {
      if (!topics.has(k)) errors.push({ field: `contacts/${index}/topics/${k}`, message: 'no such topic; create it first' });
    }
    if (!check.ok || errors.length > 0) return void rejected.push({ index, errors });
    good.push({ index, draft: check.value as BatchRow['draft'], topics: w.topics, evidence: evidenceOf(w) });
  });
  const outcome = await storeContactBatch(ctx.db, good, topics, ctx.clock.now());
  const all = [...rejected, ...outcome.rejected.map((r) => ({ index: r.index, errors: r.errors.map((e) => ({ ...e, field: `contacts/${r.index}/${e.field}` })) }))];
  all.sort((a, b) => a.index - b.index);
  return {
    created: new Set(outcome.stored.filter((s) => s.created).map((s) => s.id)).size,
    updated: new Set(outcome.stored.filter((s) => !s.created).map((s) => s.id)).size,
    rejected: all,
    results: outcome.stored,
  };
}

/** Stores one contact's external ids and topic statuses (with the consent log), inside the caller's transaction. */
async function writeIdsAndTopics(tx: Db, id: number, email: string | null, externalIds: Record<string, string> | undefined, w: ContactWrite, topics: ReadonlyMap<string, Topic>, now: number): Promise<void> {
  await upsertExternalIds(tx, Object.entries(externalIds ?? {}).map(([source, externalId]) => ({ contactId: id, source, externalId })));
  const evidence = evidenceOf(w);
  await applySubscriptionChanges(tx, Object.entries(w.topics ?? {}).map(([key, status]) => ({ contactId: id, email, topic: topics.get(key)!, status, evidence })), now);
}

async function assertExternalIdsFree(db: ServiceContext['db'], ids: Record<string, string>, self: number | undefined): Promise<void> {
  const pairs = Object.entries(ids).map(([source, externalId]) => ({ source, externalId }));
  if (pairs.length === 0) return;
  const owners = await selectExternalIdOwners(db, pairs);
  const errors: ErrorDetail[] = [];
  for (const p of pairs) {
    const owner = owners.get(`${p.source}\u0000${p.externalId}`);
    if (owner !== undefined && owner !== self) errors.push({ field: `externalIds/${p.source}`, message: `"${p.externalId}" already belongs to contact ${owner}` });
  }
  if (errors.length > 0) throw new AppError('conflict', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
}

function encodeCursor(id: number): string {
  return Buffer.from(`c:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const m = /^c:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new AppError('validation_failed', 'cursor: is not a cursor this API returned', [{ field: 'cursor', message: 'not a cursor this API returned' }]);
  return Number(m[1]);
}
