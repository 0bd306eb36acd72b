import { inTransaction, type Db } from '../db/database.ts';
import { selectContactIdsByEmailKeys, selectExternalIdOwners, upsertContactRows, upsertExternalIds, UPSERT_BATCH } from '../db/queries/contacts.ts';
import type { ConsentEvidence, SubscriptionStatus, Topic } from '../domain/consent.ts';
import type { ContactDraft } from '../domain/contacts.ts';
import type { ErrorDetail } from '../lib/errors.ts';
import { packedKey, packedValue, packRows, pushDraftValues, pushPackedValues, unpackDraft, type PackedRows, type RowExtras } from './packed-rows.ts';
import { applySubscriptionChanges, type SubscriptionChange } from './subscriptions.ts';

/** One validated row of a bulk upsert or import; `index` is its position (API) or line (CSV). */
export interface BatchRow {
  index: number;
  draft: ContactDraft & { email: string; emailKey: string; emailDomain: string };
  topics?: Record<string, SubscriptionStatus>;
  evidence?: ConsentEvidence;
}

export interface BatchOutcome {
  stored: { index: number; id: number; created: boolean }[];
  rejected: { index: number; errors: ErrorDetail[] }[];
  consentChanges: number;
  /** Contacts this batch created: an address on several rows counts once. */
  created: number;
}

/**
 * Stores a batch of contacts (insert or update by address) with their external ids and topic
 * statuses, in one transaction: every good row lands, or on a database failure none do.
 * Rows whose external id belongs to another contact are rejected; the rest are stored.
 * Absent and null fields keep what is stored; attributes are merged.
 */
export async function storeContactBatch(db: Db, rows: readonly BatchRow[], topics: ReadonlyMap<string, Topic>, now: number): Promise<BatchOutcome> {
  return storePackedBatch(db, packRows(rows), topics, now);
}

/** storeContactBatch for rows already packed (an import's, made in its parsing thread). */
export async function storePackedBatch(db: Db, p: PackedRows, topics: ReadonlyMap<string, Topic>, now: number): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { stored: [], rejected: [], consentChanges: 0, created: 0 };
  const { heads, special } = mergeByAddress(p);
  await inTransaction(db, async (tx) => {
    const withIds: Address[] = [];
    for (const a of special.values()) if (a.externalIds) withIds.push(a);
    // In file order: the first address to claim an external id keeps it.
    withIds.sort((x, y) => x.row - y.row);
    await rejectExternalIdConflicts(tx, withIds, p, outcome);
    const good = special.size === 0 ? heads : heads.filter((h) => !special.get(h)?.rejected);
    const ext: { contactId: number; source: string; externalId: string }[] = [];
    const changes: SubscriptionChange[] = [];
    // No objects a row beyond the outcome's: an import sends a million rows through here, and
    // what a batch keeps alive decides the writer's heap (peak RSS, bench:import).
    const values: (string | null)[] = [];
    for (let i = 0; i < good.length; i += UPSERT_BATCH) {
      const chunk = good.slice(i, i + UPSERT_BATCH);
      values.length = 0;
      for (const h of chunk) {
        const merged = special.get(h)?.draft;
        if (merged) pushDraftValues(values, merged);
        else pushPackedValues(values, p, h);
      }
      const { ids, created } = await upsertContactRows(tx, values, now);
      for (let j = 0; j < chunk.length; j++) {
        const h = chunk[j]!;
        const id = ids[j]!;
        if (created[j]) outcome.created++;
        outcome.stored.push({ index: p.index[h]!, id, created: created[j]! });
        const a = special.get(h);
        if (!a) continue;
        for (const index of a.later ?? []) outcome.stored.push({ index, id, created: created[j]! });
        for (const source in a.externalIds) ext.push({ contactId: id, source, externalId: a.externalIds[source]! });
        for (const key in a.topics) {
          const { status, evidence } = a.topics[key]!;
          changes.push({ contactId: id, email: packedValue(p, h, 0)!, topic: topics.get(key)!, status, evidence });
        }
      }
    }
    await upsertExternalIds(tx, ext);
    outcome.consentChanges = await applySubscriptionChanges(tx, changes, now);
  });
  outcome.stored.sort((a, b) => a.index - b.index);
  return outcome;
}

/** An address of a batch that is more than its first row's fields: it has extras, or repeats. */
interface Address {
  key: string;
  /** Its first row (a position in the batch). */
  row: number;
  /** The indexes of later rows with the same address. */
  later?: number[];
  /** Set when later rows were merged in: the fields to store. */
  draft?: BatchRow['draft'];
  externalIds?: Record<string, string>;
  /** Each topic status keeps the evidence of the row that set it. */
  topics?: Record<string, { status: SubscriptionStatus; evidence: ConsentEvidence }>;
  rejected?: boolean;
}

// One statement cannot insert the same address twice (PostgreSQL refuses), and a file often
// repeats an address: later rows win field by field, as if they had been applied in order.
// Returns each address's first row, in order, and an Address for those that need one.
function mergeByAddress(p: PackedRows): { heads: number[]; special: Map<number, Address> } {
  const extrasOf = new Map<number, RowExtras>();
  for (let k = 0; k < p.extraRows.length; k++) extrasOf.set(p.extraRows[k]!, p.extras[k]!);
  const headOf = new Map<string, number>();
  const heads: number[] = [];
  const special = new Map<number, Address>();
  for (let row = 0; row < p.index.length; row++) {
    const key = packedKey(p, row);
    const head = headOf.get(key);
    const extras = extrasOf.get(row);
    if (head === undefined) {
      headOf.set(key, row);
      heads.push(row);
      if (extras) special.set(row, { key, row, externalIds: extras.externalIds, topics: topicsWithEvidence(extras) });
      continue;
    }
    let a = special.get(head);
    if (!a) special.set(head, (a = { key, row: head }));
    (a.later ??= []).push(p.index[row]!);
    const m = (a.draft ??= unpackDraft(p, head, extrasOf.get(head)));
    const r = unpackDraft(p, row, extras);
    const attributes = r.attributes ? { ...m.attributes, ...r.attributes } : m.attributes;
    const externalIds = r.externalIds ? { ...m.externalIds, ...r.externalIds } : m.externalIds;
    // The address keeps its first-seen form, as it does against stored contacts.
    const { email: _e, emailKey: _k, emailDomain: _d, ...fields } = r;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) (m as unknown as Record<string, unknown>)[k] = v;
    m.attributes = attributes;
    m.externalIds = a.externalIds = externalIds;
    const topics = extras && topicsWithEvidence(extras);
    if (topics) a.topics = { ...a.topics, ...topics };
  }
  return { heads, special };
}

function topicsWithEvidence(r: RowExtras): Address['topics'] {
  if (!r.topics) return undefined;
  const evidence = r.evidence ?? { source: 'api' };
  return Object.fromEntries(Object.entries(r.topics).map(([k, status]) => [k, { status, evidence }]));
}

async function rejectExternalIdConflicts(db: Db, addresses: readonly Address[], p: PackedRows, outcome: BatchOutcome): Promise<void> {
  const withIds = addresses.filter((a) => Object.keys(a.externalIds!).length > 0);
  if (withIds.length === 0) return;
  const pairs = withIds.flatMap((a) => Object.entries(a.externalIds!).map(([source, externalId]) => ({ source, externalId })));
  const owners = await selectExternalIdOwners(db, pairs);
  const existing = await selectContactIdsByEmailKeys(db, withIds.map((a) => a.key));
  const claimedInBatch = new Map<string, string>();
  for (const a of withIds) {
    const errors: ErrorDetail[] = [];
    for (const [source, externalId] of Object.entries(a.externalIds!)) {
      const pairKey = `${source}\u0000${externalId}`;
      const owner = owners.get(pairKey);
      const self = existing.get(a.key);
      if (owner !== undefined && owner !== self) {
        errors.push({ field: `externalIds/${source}`, message: `"${externalId}" already belongs to contact ${owner}` });
      }
      const claimant = claimedInBatch.get(pairKey);
      if (claimant !== undefined && claimant !== a.key) {
        errors.push({ field: `externalIds/${source}`, message: `"${externalId}" is given to two addresses in this batch` });
      }
      claimedInBatch.set(pairKey, a.key);
    }
    if (errors.length > 0) {
      a.rejected = true;
      for (const index of [p.index[a.row]!, ...(a.later ?? [])]) outcome.rejected.push({ index, errors });
    }
  }
}
