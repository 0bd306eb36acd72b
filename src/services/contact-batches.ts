import { inTransaction, type Db } from '../db/database.ts';
import {
  selectContactIdsByEmailKeys,
  selectExternalIdOwners,
  upsertContactRows,
  upsertExternalIds,
  UPSERT_BATCH,
  upsertRowFrom,
} from '../db/queries/contacts.ts';
import type { ConsentEvidence, SubscriptionStatus, Topic } from '../domain/consent.ts';
import type { ContactDraft } from '../domain/contacts.ts';
import type { ErrorDetail } from '../lib/errors.ts';
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
}

/**
 * Stores a batch of contacts (insert or update by address) with their external ids and topic
 * statuses, in one transaction: every good row lands, or on a database failure none do.
 * Rows whose external id belongs to another contact are rejected; the rest are stored.
 * Absent and null fields keep what is stored; attributes are merged.
 */
export async function storeContactBatch(db: Db, rows: readonly BatchRow[], topics: ReadonlyMap<string, Topic>, now: number): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { stored: [], rejected: [], consentChanges: 0 };
  const merged = mergeByAddress(rows);
  await inTransaction(db, async (tx) => {
    await rejectExternalIdConflicts(tx, merged, outcome);
    const good = [...merged.values()].filter((m) => !m.rejected);
    const ids = new Map<string, number>();
    for (let i = 0; i < good.length; i += UPSERT_BATCH) {
      const chunk = good.slice(i, i + UPSERT_BATCH);
      const result = await upsertContactRows(tx, chunk.map((m) => upsertRowFrom(m.draft)), now);
      for (const r of result) {
        ids.set(r.emailKey, r.id);
        for (const index of merged.get(r.emailKey)!.indexes) outcome.stored.push({ index, id: r.id, created: r.created });
      }
    }
    const ext: { contactId: number; source: string; externalId: string }[] = [];
    const changes: SubscriptionChange[] = [];
    for (const m of good) {
      const contactId = ids.get(m.draft.emailKey)!;
      for (const [source, externalId] of Object.entries(m.draft.externalIds ?? {})) ext.push({ contactId, source, externalId });
      for (const [key, { status, evidence }] of Object.entries(m.topics)) {
        changes.push({ contactId, email: m.draft.email, topic: topics.get(key)!, status, evidence });
      }
    }
    await upsertExternalIds(tx, ext);
    outcome.consentChanges = await applySubscriptionChanges(tx, changes, now);
  });
  outcome.stored.sort((a, b) => a.index - b.index);
  return outcome;
}

interface MergedRow {
  indexes: number[];
  draft: BatchRow['draft'];
  /** Each topic status keeps the evidence of the row that set it. */
  topics: Record<string, { status: SubscriptionStatus; evidence: ConsentEvidence }>;
  rejected?: boolean;
}

// One statement cannot insert the same address twice (PostgreSQL refuses), and a file often
// repeats an address: later rows win field by field, as if they had been applied in order.
function mergeByAddress(rows: readonly BatchRow[]): Map<string, MergedRow> {
  const out = new Map<string, MergedRow>();
  for (const r of rows) {
    const m = out.get(r.draft.emailKey);
    if (!m) {
      // The batch owns its drafts, so the first one is merged into in place, not copied.
      out.set(r.draft.emailKey, { indexes: [r.index], draft: r.draft, topics: topicsWithEvidence(r) });
      continue;
    }
    m.indexes.push(r.index);
    const attributes = r.draft.attributes ? { ...m.draft.attributes, ...r.draft.attributes } : m.draft.attributes;
    const externalIds = r.draft.externalIds ? { ...m.draft.externalIds, ...r.draft.externalIds } : m.draft.externalIds;
    // The address keeps its first-seen form, as it does against stored contacts.
    const { email: _e, emailKey: _k, emailDomain: _d, ...fields } = r.draft;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) (m.draft as unknown as Record<string, unknown>)[k] = v;
    m.draft.attributes = attributes;
    m.draft.externalIds = externalIds;
    Object.assign(m.topics, topicsWithEvidence(r));
  }
  return out;
}

function topicsWithEvidence(r: BatchRow): MergedRow['topics'] {
  if (!r.topics) return {};
  const evidence = r.evidence ?? { source: 'api' };
  return Object.fromEntries(Object.entries(r.topics).map(([k, status]) => [k, { status, evidence }]));
}

async function rejectExternalIdConflicts(db: Db, merged: Map<string, MergedRow>, outcome: BatchOutcome): Promise<void> {
  const withIds = [...merged.values()].filter((m) => m.draft.externalIds && Object.keys(m.draft.externalIds).length > 0);
  if (withIds.length === 0) return;
  const pairs = withIds.flatMap((m) => Object.entries(m.draft.externalIds!).map(([source, externalId]) => ({ source, externalId })));
  const owners = await selectExternalIdOwners(db, pairs);
  const existing = await selectContactIdsByEmailKeys(db, withIds.map((m) => m.draft.emailKey));
  const claimedInBatch = new Map<string, string>();
  for (const m of withIds) {
    const errors: ErrorDetail[] = [];
    for (const [source, externalId] of Object.entries(m.draft.externalIds!)) {
      const pairKey = `${source}\u0000${externalId}`;
      const owner = owners.get(pairKey);
      const self = existing.get(m.draft.emailKey);
      if (owner !== undefined && owner !== self) {
        errors.push({ field: `externalIds/${source}`, message: `"${externalId}" already belongs to contact ${owner}` });
      }
      const claimant = claimedInBatch.get(pairKey);
      if (claimant !== undefined && claimant !== m.draft.emailKey) {
        errors.push({ field: `externalIds/${source}`, message: `"${externalId}" is given to two addresses in this batch` });
      }
      claimedInBatch.set(pairKey, m.draft.emailKey);
    }
    if (errors.length > 0) {
      m.rejected = true;
      for (const index of m.indexes) outcome.rejected.push({ index, errors });
    }
  }
}
