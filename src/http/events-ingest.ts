import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ingestEvents, MAX_EVENTS, STORE_EVENT_TYPES } from '../services/store-events.ts';
import type { RouteDeps } from './server.ts';

// Each event is checked by the service, not by the route schema, so one bad event is listed by
// index while the others are stored; only the envelope (a list of at most 1,000) is checked here.
const IngestBody = Type.Object(
  {
    events: Type.Array(Type.Unknown({ description: `{ id, type, occurredAt (ISO 8601), email?, externalId?, externalIdSource?, properties? }; type: ${STORE_EVENT_TYPES.join(', ')} or a custom one` }), { minItems: 1, maxItems: MAX_EVENTS }),
  },
  { additionalProperties: false },
);

/**
 * `POST /events`: a batch of store events (views, carts, checkouts, orders, custom ones). Answers
 * 200 with `{ accepted, duplicates, rejected: [{ index, errors }] }` whenever the envelope is
 * right, even if some or all events were rejected; a replayed event id counts as a duplicate.
 */
export const eventIngestRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx, bulkBodyLimitBytes }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  app.post('/events', { bodyLimit: bulkBodyLimitBytes, schema: { tags: ['store'], summary: 'Record up to 1,000 store events; idempotent by event id; bad events are listed, good ones stored', body: IngestBody } }, async (req) => {
    const r = await ingestEvents(ctx, req.body.events);
    return { accepted: r.accepted, duplicates: r.duplicates, rejected: r.rejected, events: r.stored.map((s) => ({ index: s.index, id: s.eventId, contactId: s.contactId, duplicate: s.duplicate })) };
  });
};
