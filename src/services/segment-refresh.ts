import { sql } from 'kysely';
import { inTransaction, type Db } from '../db/database.ts';
import { insertEvents } from '../db/queries/events.ts';
import { contactIdList, deleteExitedMembers, insertEnteredMembers, markSegmentRefreshed, selectChangedContactIds, selectSegmentByKey, selectSegments, type SegmentRow } from '../db/queries/segments.ts';
import { referencedSegments, segmentDataSources, segmentUsesRelativeTime } from '../domain/segments.ts';
import { AppError } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';

// Materialisation: the members of a saved segment are stored (segment_members) so that sends and
// flows read them cheaply, and every change of membership is an event (segment_entered /
// segment_exited, properties { segment, version }) that flows can trigger on.
//
// A full refresh recomputes every contact. An incremental one recomputes only contacts whose data
// in the tables the definition reads changed since the last refresh (orders/carts/contacts/
// subscriptions/messages by updated_at, contact_metrics by updated_at or rfm_scored_at, events by
// occurred_at, other segments through their membership events). That is exact for data changes,
// but two things move membership without touching a row: time passing through a relative window
// ("within 30d") and events stored late with an old occurred_at. Hence the schedule runs a full
// refresh for segments with relative windows and a periodic full refresh for all.

/** What a refresh did. */
export interface RefreshOutcome {
  segment: string;
  mode: 'full' | 'incremental';
  entered: number;
  exited: number;
  memberCount: number;
  refreshedAt: number;
}

const EVENT_BATCH = 5000;

/** Recomputes a saved segment's members (all, or only contacts changed since its last refresh) and records the changes as events. */
export async function refreshSegment(ctx: ServiceContext, key: string, mode: 'full' | 'incremental' = 'full'): Promise<RefreshOutcome> {
  const s = await selectSegmentByKey(ctx.db, key);
  if (!s) throw new AppError('not_found', `segment "${key}" does not exist`);
  return materialiseSegment(ctx, s, mode);
}

/** Refreshes one stored segment row (see refreshSegment); an incremental refresh of a never-refreshed segment is a full one. */
export async function materialiseSegment(ctx: ServiceContext, s: SegmentRow, requested: 'full' | 'incremental'): Promise<RefreshOutcome> {
  const now = ctx.clock.now();
  const started = Date.now();
  const mode = requested === 'incremental' && s.refreshedAt !== null ? 'incremental' : 'full';
  const out = await inTransaction(ctx.db, async (tx) => {
    await lockSegment(tx, s.id);
    // The changed contacts are read once, then passed to both statements as one bound JSON list.
    const changed = mode === 'incremental' ? await selectChangedContactIds(tx, segmentDataSources(s.definition), s.refreshedAt!) : null;
    const candidates = changed ? contactIdList(tx, changed) : undefined;
    const p = { segmentId: s.id, definition: s.definition, now, candidates };
    const nothingChanged = changed !== null && changed.length === 0;
    const exited = nothingChanged ? [] : await deleteExitedMembers(tx, p);
    const entered = nothingChanged ? [] : await insertEnteredMembers(tx, p);
    const properties = { segment: s.key, version: s.version, ...(s.refreshedAt === null ? { initial: true } : {}) };
    await appendMembershipEvents(tx, 'segment_entered', entered, properties, now);
    await appendMembershipEvents(tx, 'segment_exited', exited, properties, now);
    const memberCount = await markSegmentRefreshed(tx, s.id, now);
    return { outcome: { segment: s.key, mode, entered: entered.length, exited: exited.length, memberCount, refreshedAt: now } as const, changed: changed?.length };
  });
  const { outcome, changed } = out;
  ctx.logger.info({ segment: s.key, mode, changed, entered: outcome.entered, exited: outcome.exited, members: outcome.memberCount, ms: Date.now() - started }, 'segment refreshed');
  return outcome;
}

/**
 * Refreshes every saved segment, segments another refers to first: `incremental` recomputes only
 * changed contacts, except for segments with relative windows, which always get a full refresh.
 * One segment failing is logged and does not stop the others.
 */
export async function refreshAllSegments(ctx: ServiceContext, mode: 'full' | 'incremental'): Promise<RefreshOutcome[]> {
  const outcomes: RefreshOutcome[] = [];
  for (const s of orderByReferences(await selectSegments(ctx.db))) {
    try {
      outcomes.push(await materialiseSegment(ctx, s, mode === 'incremental' && !segmentUsesRelativeTime(s.definition) ? 'incremental' : 'full'));
    } catch (err) {
      ctx.logger.error({ err, segment: s.key }, 'segment refresh failed');
    }
  }
  return outcomes;
}

/**
 * Every saved segment refreshed for the contacts whose data changed since its last refresh (new
 * orders, carts, events, profile or topic changes). Cheap when nothing changed: the "changed since"
 * reads are range scans. Relative windows passing by are left to the scheduled full refresh.
 */
export async function refreshChangedContacts(ctx: ServiceContext): Promise<RefreshOutcome[]> {
  const outcomes: RefreshOutcome[] = [];
  for (const s of orderByReferences(await selectSegments(ctx.db))) {
    try {
      outcomes.push(await materialiseSegment(ctx, s, 'incremental'));
    } catch (err) {
      ctx.logger.error({ err, segment: s.key }, 'segment refresh failed');
    }
  }
  return outcomes;
}

/** Segments in an order where each comes after the segments it refers to (cycles, which validation prevents, keep input order). */
function orderByReferences(segments: SegmentRow[]): SegmentRow[] {
  const byKey = new Map(segments.map((s) => [s.key, s]));
  const done = new Set<string>();
  const out: SegmentRow[] = [];
  const visit = (s: SegmentRow, path: Set<string>) => {
    if (done.has(s.key) || path.has(s.key)) return;
    path.add(s.key);
    for (const k of referencedSegments(s.definition)) {
      const dep = byKey.get(k);
      if (dep) visit(dep, path);
    }
    done.add(s.key);
    out.push(s);
  };
  for (const s of segments) visit(s, new Set());
  return out;
}

async function appendMembershipEvents(db: Db, type: string, contactIds: number[], properties: Record<string, unknown>, now: number): Promise<void> {
  for (let i = 0; i < contactIds.length; i += EVENT_BATCH) {
    const batch = contactIds.slice(i, i + EVENT_BATCH).map((contactId) => ({ type, contactId, messageRef: null, properties, ip: null, userAgent: null, occurredAt: now, source: 'segments' }));
    await insertEvents(db, batch);
  }
}

/** PostgreSQL: two refreshes of one segment (the schedule and an API call) take turns; SQLite's BEGIN IMMEDIATE already does. */
async function lockSegment(db: Db, id: number): Promise<void> {
  if (db.dialect === 'postgres') await sql`SELECT id FROM segments WHERE id = ${id} FOR UPDATE`.execute(db.k);
}
