import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { EventRecord } from '../db/queries/events.ts';
import type { UnmatchedFeedbackRow } from '../db/queries/feedback.ts';
import { FEEDBACK_SOURCES } from '../domain/feedback.ts';
import { invalid } from '../lib/errors.ts';
import { listContactEvents, listMessageEvents, listUnmatchedFeedback } from '../services/events.ts';
import { engagementReport } from '../services/reports.ts';
import type { RouteDeps } from './server.ts';
import { IdParams, isoTime, PageQuery, StringEnum } from './schemas.ts';

const EventsQuery = Type.Object(
  { ...PageQuery, type: Type.Optional(Type.String({ maxLength: 300, description: 'only these event types, comma-separated (email_bounced,email_clicked)' })) },
  { additionalProperties: false },
);

const ReportQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ maxLength: 40, description: 'messages created at or after (ISO 8601); default 30 days ago' })),
    to: Type.Optional(Type.String({ maxLength: 40, description: 'messages created before (ISO 8601); default now' })),
    campaignId: Type.Optional(Type.Integer({ minimum: 1 })),
    stream: Type.Optional(StringEnum(['marketing', 'transactional'] as const)),
  },
  { additionalProperties: false },
);

function eventJson(e: EventRecord) {
  return { id: e.id, type: e.type, contactId: e.contactId, messageRef: e.messageRef, source: e.source ?? null, reason: e.reason ?? null, machine: e.machine ?? null, properties: e.properties, ip: e.ip, userAgent: e.userAgent, occurredAt: isoTime(e.occurredAt) };
}

function unmatchedJson(u: UnmatchedFeedbackRow) {
  return { id: u.id, source: u.source, sourceEventId: u.sourceEventId, type: u.type, why: u.why, detail: u.detail, raw: u.raw, receivedAt: isoTime(u.receivedAt) };
}

function cursorOf(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const n = Number(cursor);
  if (!(Number.isSafeInteger(n) && n > 0)) throw invalid('cursor', 'is not a cursor this API returned');
  return n;
}

function timeOf(field: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const t = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\d/.test(value) || !Number.isFinite(t)) throw invalid(field, 'must be an ISO 8601 time such as 2026-11-01T00:00:00Z');
  return t;
}

/** A page of items with the cursor to the next one (the page was read with one extra row). */
function paged<T extends { id: number }, J>(rows: T[], limit: number, toJson: (r: T) => J) {
  const items = rows.slice(0, limit);
  return { items: items.map(toJson), nextCursor: rows.length > limit ? String(items[items.length - 1]!.id) : null };
}

/**
 * The feedback loop as the API shows it: each message's and each contact's events, feedback that
 * matched nothing (for an operator to inspect), and the engagement KPIs of a period or campaign.
 */
export const eventRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const types = (q: { type?: string }) => q.type?.split(',').map((s) => s.trim()).filter(Boolean);

  app.get('/messages/:id/events', { schema: { tags: ['messages'], summary: "A message's events, newest first: delivered, bounced, complained, opened, clicked…", params: IdParams, querystring: EventsQuery } }, async (req) => {
    const limit = req.query.limit ?? 100;
    return paged(await listMessageEvents(ctx, req.params.id, { beforeId: cursorOf(req.query.cursor), limit: limit + 1, types: types(req.query) }), limit, eventJson);
  });

  app.get('/contacts/:id/events', { schema: { tags: ['contacts'], summary: "A contact's events from every message and source, newest first", params: IdParams, querystring: EventsQuery } }, async (req) => {
    const limit = req.query.limit ?? 100;
    return paged(await listContactEvents(ctx, req.params.id, { beforeId: cursorOf(req.query.cursor), limit: limit + 1, types: types(req.query) }), limit, eventJson);
  });

  app.get(
    '/feedback/unmatched',
    { schema: { tags: ['feedback'], summary: 'Bounces, complaints and webhook events that named no known message, or could not be read', querystring: Type.Object({ ...PageQuery, source: Type.Optional(StringEnum(FEEDBACK_SOURCES)) }, { additionalProperties: false }) } },
    async (req) => {
      const limit = req.query.limit ?? 100;
      return paged(await listUnmatchedFeedback(ctx, { source: req.query.source, beforeId: cursorOf(req.query.cursor), limit: limit + 1 }), limit, unmatchedJson);
    },
  );

  app.get('/reports/engagement', { schema: { tags: ['feedback'], summary: 'KPIs of the messages of a period, campaign or stream: bounces, complaints, unique and total opens and clicks (machines apart)', querystring: ReportQuery } }, async (req) => {
    const now = ctx.clock.now();
    const to = timeOf('to', req.query.to, now);
    const from = timeOf('from', req.query.from, to - 30 * 24 * 3600_000);
    if (from >= to) throw invalid('from', 'must be before `to`');
    const r = await engagementReport(ctx, { from, to, campaignId: req.query.campaignId, stream: req.query.stream });
    return { ...r, scope: { ...r.scope, from: isoTime(from), to: isoTime(to) } };
  });
};
