import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ATTRIBUTE_NAME, type Contact } from '../domain/contacts.ts';
import type { SubscriptionStatus } from '../domain/consent.ts';
import type { ErrorDetail } from '../lib/errors.ts';
import { bulkUpsertContacts, changeContact, createContact, getContact, listContacts, removeContact, type ContactWrite } from '../services/contacts.ts';
import { exportContactsCsv } from '../services/contact-exports.ts';
import { eraseContact, exportContactData } from '../services/gdpr.ts';
import { consentHistory } from '../services/subscriptions.ts';
import { invalid } from '../lib/errors.ts';
import type { RouteDeps } from './server.ts';
import { ConsentEvidenceSchema, IdParams, isoTime, Nullable, PageQuery, SubscriptionStatusSchema } from './schemas.ts';
import { ajvDetail, bodyAjv } from './validation.ts';

const profile = {
  firstName: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  lastName: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  locale: Type.Optional(Nullable(Type.String({ maxLength: 35, description: 'BCP 47, e.g. fa-IR' }))),
  timezone: Type.Optional(Nullable(Type.String({ maxLength: 64, description: 'IANA, e.g. Asia/Tehran' }))),
  currency: Type.Optional(Nullable(Type.String({ maxLength: 3, description: 'ISO 4217, or IRT for toman' }))),
  phone: Type.Optional(Nullable(Type.String({ maxLength: 40 }))),
  externalIds: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 128 }), { description: 'ids in other systems by source, e.g. {"woocommerce":"1042"}' })),
  attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'custom data; null removes a key on update' })),
  topics: Type.Optional(Type.Record(Type.String(), SubscriptionStatusSchema, { description: 'topic key → status; each change is written to the consent log' })),
  consent: Type.Optional(ConsentEvidenceSchema),
};
const CreateContact = Type.Object({ email: Type.String({ maxLength: 320 }), ...profile }, { additionalProperties: false });
const UpdateContact = Type.Object({ email: Type.Optional(Type.String({ maxLength: 320 })), ...profile }, { additionalProperties: false });
const validateBulkRow = bodyAjv.compile(CreateContact);

const ContactJson = Type.Object({
  id: Type.Integer(),
  email: Type.Union([Type.String(), Type.Null()], { description: 'null for a customer known so far only by a store id (from store data); never mailed until an address arrives' }),
  firstName: Nullable(Type.String()),
  lastName: Nullable(Type.String()),
  locale: Nullable(Type.String()),
  timezone: Nullable(Type.String()),
  currency: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  externalIds: Type.Record(Type.String(), Type.String()),
  attributes: Type.Record(Type.String(), Type.Unknown()),
  topics: Type.Optional(Type.Record(Type.String(), SubscriptionStatusSchema)),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const ListQuery = Type.Object(
  { ...PageQuery, emailPrefix: Type.Optional(Type.String({ maxLength: 320 })) },
  { additionalProperties: false, patternProperties: { '^attr\\.': Type.String({ maxLength: 1000 }) }, description: 'attr.<name>=<value> filters by attribute equality' },
);

function toJson(c: Contact & { topics?: Record<string, SubscriptionStatus> }) {
  return { ...c, createdAt: isoTime(c.createdAt)!, updatedAt: isoTime(c.updatedAt)! };
}

/** Contacts: CRUD, search, bulk upsert, CSV export, consent history, GDPR export and erasure. */
export const contactRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx, bulkBodyLimitBytes }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['contacts'];

  app.get('/contacts', { schema: { tags, summary: 'List and search contacts', querystring: ListQuery } }, async (req) => {
    const q = req.query as Record<string, string | number | undefined>;
    const attributes = Object.entries(q)
      .filter(([k]) => k.startsWith('attr.'))
      .map(([k, v]) => {
        const name = k.slice(5);
        if (!ATTRIBUTE_NAME.test(name)) throw invalid(k, 'is not a valid attribute name');
        return { name, value: String(v) };
      });
    const page = await listContacts(ctx, { emailPrefix: req.query.emailPrefix, attributes, cursor: req.query.cursor, limit: req.query.limit ?? 100 });
    return { items: page.items.map(toJson), nextCursor: page.nextCursor };
  });

  app.post('/contacts', { schema: { tags, summary: 'Create a contact', body: CreateContact, response: { 201: ContactJson } } }, async (req, reply) => {
    return reply.status(201).send(toJson(await createContact(ctx, req.body as ContactWrite)));
  });

  app.post(
    '/contacts/bulk',
    {
      bodyLimit: bulkBodyLimitBytes,
      schema: {
        tags,
        summary: 'Insert or update up to 10,000 contacts by address',
        description: 'Good rows are stored in one transaction; bad rows are listed by index. Absent or null fields keep stored values; attributes merge.',
        body: Type.Object({ contacts: Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1, maxItems: 10_000 }) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const rows = req.body.contacts.map((row, index) => {
        if (validateBulkRow(row)) return row as ContactWrite;
        const errors: ErrorDetail[] = (validateBulkRow.errors ?? []).map((e) => ajvDetail(e, 'body', `contacts/${index}/`));
        return { index, errors };
      });
      return bulkUpsertContacts(ctx, rows);
    },
  );

  app.get('/contacts/export', { schema: { tags, summary: 'Export contacts with topic statuses as CSV', produces: ['text/csv'] } }, async (_req, reply) => {
    reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="contacts.csv"');
    return reply.send(exportContactsCsv(ctx));
  });

  app.get('/contacts/:id', { schema: { tags, summary: 'Read a contact', params: IdParams, response: { 200: ContactJson } } }, async (req) => {
    return toJson(await getContact(ctx, req.params.id));
  });

  app.patch('/contacts/:id', { schema: { tags, summary: 'Change a contact', params: IdParams, body: UpdateContact, response: { 200: ContactJson } } }, async (req) => {
    return toJson(await changeContact(ctx, req.params.id, req.body as ContactWrite));
  });

  app.delete('/contacts/:id', { schema: { tags, summary: 'Delete a contact (the consent log keeps its history)', params: IdParams } }, async (req, reply) => {
    await removeContact(ctx, req.params.id);
    return reply.status(204).send();
  });

  app.get('/contacts/:id/consent', { schema: { tags, summary: 'The contact’s consent log, oldest first', params: IdParams } }, async (req) => {
    await getContact(ctx, req.params.id);
    const items = await consentHistory(ctx.db, req.params.id);
    return { items: items.map((r) => ({ ...r, createdAt: isoTime(r.createdAt) })) };
  });

  app.get('/contacts/:id/gdpr-export', { config: { scope: 'admin' }, schema: { tags: ['gdpr'], summary: 'Everything held about a contact, as one JSON document', params: IdParams } }, async (req) => {
    return exportContactData(ctx, req.params.id);
  });

  app.post('/contacts/:id/erase', { config: { scope: 'admin' }, schema: { tags: ['gdpr'], summary: 'Erase a contact; the address stays only as a keyed hash on the suppression list', params: IdParams } }, async (req) => {
    return eraseContact(ctx, req.params.id);
  });
};
