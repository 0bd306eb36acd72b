import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { SegmentRow } from '../db/queries/segments.ts';
import { selectSegmentMembers } from '../db/queries/segments.ts';
import { countRfmGroups } from '../db/queries/rfm.ts';
import { CONDITION_CATALOGUE, MAX_SEGMENT_CONDITIONS, MAX_SEGMENT_DEPTH } from '../domain/segments.ts';
import { RFM_GROUP_NAMES, RFM_GRID } from '../domain/rfm.ts';
import { AppError } from '../lib/errors.ts';
import { refreshRfm } from '../services/rfm.ts';
import { installSegmentPresets } from '../services/segment-presets.ts';
import { refreshSegment } from '../services/segment-refresh.ts';
import { changeSegment, createSegment, getSegment, listSegments, previewSegment, removeSegment } from '../services/segments.ts';
import type { RouteDeps } from './server.ts';
import { isoTime, PageQuery, StringEnum } from './schemas.ts';

const KeyParams = Type.Object({ key: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
// The definition's own structure is checked by domain/segments.ts, which names every problem's JSON path.
const Definition = Type.Unknown({ description: 'a tree of all / any / not over conditions; see GET /api/v1/segments/catalogue' });
// A POST without a body (curl -X POST …/refresh) means "the defaults", not a validation error.
const emptyBodyAsObject = async (req: { body: unknown }) => {
  req.body ??= {};
};
const toJson = (s: SegmentRow) => ({ ...s, refreshedAt: isoTime(s.refreshedAt), createdAt: isoTime(s.createdAt), updatedAt: isoTime(s.updatedAt) });

/** Segments (saved, versioned, materialised), their preview and presets, and RFM scoring. */
export const segmentRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['segments'];

  app.get('/segments', { schema: { tags, summary: 'List segments' } }, async () => ({ items: (await listSegments(ctx)).map(toJson) }));

  app.get('/segments/catalogue', { schema: { tags, summary: 'The condition kinds a definition may use' } }, async () => ({ maxDepth: MAX_SEGMENT_DEPTH, maxConditions: MAX_SEGMENT_CONDITIONS, conditions: CONDITION_CATALOGUE, rfmGroups: RFM_GROUP_NAMES }));

  app.post(
    '/segments',
    { schema: { tags, summary: 'Create a segment and materialise it', body: Type.Object({ key: Type.String({ maxLength: 64 }), name: Type.String({ maxLength: 200 }), definition: Definition }, { additionalProperties: false }) } },
    async (req, reply) => {
      const r = await createSegment(ctx, req.body);
      return reply.status(201).send({ ...toJson(r.segment), refresh: r.refresh });
    },
  );

  app.post(
    '/segments/preview',
    { schema: { tags, summary: 'Count a definition’s contacts and show a sample, without saving', body: Type.Object({ definition: Definition, sampleSize: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, default: 10 })) }, { additionalProperties: false }) } },
    async (req) => previewSegment(ctx, req.body.definition, req.body.sampleSize ?? 10),
  );

  app.post(
    '/segments/presets',
    { preValidation: emptyBodyAsObject, schema: { tags, summary: 'Install the preset segments', body: Type.Optional(Type.Object({ abandonedCartValue: Type.Optional(Type.Number({ minimum: 0, description: 'in the store currency; default 5000000' })) }, { additionalProperties: false })) } },
    async (req) => ({ items: await installSegmentPresets(ctx, { abandonedCartValue: req.body?.abandonedCartValue }) }),
  );

  app.get('/segments/:key', { schema: { tags, summary: 'Read a segment', params: KeyParams } }, async (req) => toJson(await getSegment(ctx, req.params.key)));

  app.get(
    '/segments/:key/members',
    { schema: { tags, summary: 'Page through a segment’s materialised members', params: KeyParams, querystring: Type.Object(PageQuery, { additionalProperties: false }) } },
    async (req) => {
      const s = await getSegment(ctx, req.params.key);
      const limit = req.query.limit ?? 100;
      const after = req.query.cursor === undefined ? undefined : Number(req.query.cursor);
      if (after !== undefined && !Number.isSafeInteger(after)) throw new AppError('validation_failed', 'cursor: is not a cursor this API returned', [{ field: 'cursor', message: 'invalid' }]);
      const rows = await selectSegmentMembers(ctx.db, { segmentId: s.id, afterContactId: after, limit });
      return { items: rows.map((r) => ({ contactId: r.contactId, since: isoTime(r.since) })), nextCursor: rows.length === limit ? String(rows[rows.length - 1]!.contactId) : null };
    },
  );

  app.put(
    '/segments/:key',
    { schema: { tags, summary: 'Replace a segment’s definition (a new version) and rematerialise it', params: KeyParams, body: Type.Object({ name: Type.Optional(Type.String({ maxLength: 200 })), definition: Definition }, { additionalProperties: false }) } },
    async (req) => {
      const r = await changeSegment(ctx, req.params.key, req.body);
      return { ...toJson(r.segment), refresh: r.refresh };
    },
  );

  app.delete('/segments/:key', { config: { scope: 'admin' }, schema: { tags, summary: 'Delete a segment', params: KeyParams } }, async (req, reply) => {
    await removeSegment(ctx, req.params.key);
    return reply.status(204).send();
  });

  app.post(
    '/segments/:key/refresh',
    { preValidation: emptyBodyAsObject, schema: { tags, summary: 'Recompute a segment’s members now', params: KeyParams, body: Type.Optional(Type.Object({ mode: Type.Optional(StringEnum(['full', 'incremental'] as const)) }, { additionalProperties: false })) } },
    async (req) => refreshSegment(ctx, req.params.key, req.body?.mode ?? 'full'),
  );

  app.post('/rfm/refresh', { schema: { tags, summary: 'Score RFM for every buyer now' } }, async () => refreshRfm(ctx));

  app.get('/rfm/groups', { schema: { tags, summary: 'RFM group sizes and the R×F grid that names them' } }, async () => ({
    groups: await countRfmGroups(ctx.db),
    names: RFM_GROUP_NAMES,
    grid: RFM_GRID.map(([recency, frequency, group]) => ({ recency, frequency, group })),
  }));
};
