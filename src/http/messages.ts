import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { normalizeEmail } from '../domain/emails.ts';
import { CLIENT_KEY, MESSAGE_STATUSES } from '../domain/messages.ts';
import { AppError, invalid, type ErrorDetail } from '../lib/errors.ts';
import { createMemoryTokenBuckets } from '../lib/rate-limiter.ts';
import { enqueueMessage, getMessage, listMessages, type MessageView, type NewMessageInput } from '../services/messages.ts';
import { getStoreSettings } from '../services/store-settings.ts';
import { errorBody } from './errors.ts';
import type { RouteDeps } from './server.ts';
import { IdParams, isoTime, Nullable, StringEnum } from './schemas.ts';

// The transactional API: one call puts one message in the outbox and answers at once with its id;
// the delivery workers send it. The client's idempotency key makes a retried call harmless.

const INLINE = ['subject', 'html', 'text', 'fromName', 'fromEmail', 'replyTo'] as const;

const SendBody = Type.Object(
  {
    to: Type.String({ maxLength: 320, description: 'the recipient; an invalid address is recorded as failed with the reason, never sent' }),
    template: Type.Optional(Type.String({ maxLength: 64, description: 'key of a stored template; its kind decides the stream and topic' })),
    subject: Type.Optional(Type.String({ maxLength: 998, description: 'inline content (without a template): Liquid allowed' })),
    html: Type.Optional(Type.String({ maxLength: 500_000, description: 'inline HTML body (Liquid allowed)' })),
    text: Type.Optional(Type.String({ maxLength: 200_000, description: 'inline text body; generated from the HTML when absent' })),
    fromName: Type.Optional(Type.String({ maxLength: 200, description: "default: the store's name" })),
    fromEmail: Type.Optional(Type.String({ maxLength: 320, description: 'required with inline content' })),
    replyTo: Type.Optional(Nullable(Type.String({ maxLength: 320 }))),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'variables for Liquid: order, cart, product, coupon…' })),
    locale: Type.Optional(Type.String({ maxLength: 35, description: "which variant of the template; default the contact's locale" })),
    idempotencyKey: Type.Optional(Type.String({ pattern: CLIENT_KEY.source, description: 'or the Idempotency-Key header; one of them is required' })),
    sendAt: Type.Optional(Type.String({ maxLength: 40, description: 'not before this time (ISO 8601); default now' })),
    stream: Type.Optional(StringEnum(['transactional', 'marketing'] as const, 'inline content only; default transactional')),
    topic: Type.Optional(Type.String({ maxLength: 64, description: 'inline marketing mail only: the topic its reader subscribed to' })),
  },
  { additionalProperties: false },
);
type SendBody = typeof SendBody.static;

const ListQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(MESSAGE_STATUSES)),
    to: Type.Optional(Type.String({ maxLength: 320 })),
    contactId: Type.Optional(Type.Integer({ minimum: 1 })),
    campaignId: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 20, description: 'nextCursor from the previous page' })),
  },
  { additionalProperties: false },
);

/** A message with its times in ISO 8601, as the API speaks. */
export function messageJson(m: MessageView) {
  return {
    ...m,
    nextAttemptAt: isoTime(m.nextAttemptAt),
    createdAt: isoTime(m.createdAt),
    sentAt: isoTime(m.sentAt),
    ...(m.history ? { history: m.history.map((h) => ({ ...h, at: isoTime(h.at) })) } : {}),
  };
}

/** An address as the outbox stores it (domain normalised), so a filter matches however it is typed. */
function storedAddress(to: string | undefined): string | undefined {
  if (to === undefined) return undefined;
  const n = normalizeEmail(to);
  return n.ok ? n.value.email : to;
}

/** The client key from the body or the Idempotency-Key header: one is required, and both must agree. */
function clientKey(req: FastifyRequest, body: SendBody): string {
  const raw = req.headers['idempotency-key'];
  const header = typeof raw === 'string' ? raw.trim() : undefined;
  if (header !== undefined && !CLIENT_KEY.test(header)) throw invalid('Idempotency-Key', 'must be 1 to 200 of A-Z a-z 0-9 . _ : @ -');
  if (header !== undefined && body.idempotencyKey !== undefined && header !== body.idempotencyKey) {
    throw invalid('idempotencyKey', 'differs from the Idempotency-Key header; send one, or the same key in both');
  }
  const key = header ?? body.idempotencyKey;
  if (key === undefined) throw invalid('idempotencyKey', 'is required (in the body or the Idempotency-Key header) so that a retried call cannot send twice');
  return key;
}

/** The service's input from the body: a template, or inline content, never both. */
async function toInput(deps: RouteDeps, body: SendBody, key: string, apiKeyId: number | null): Promise<NewMessageInput> {
  const errors: ErrorDetail[] = [];
  const inline = INLINE.filter((f) => body[f] !== undefined);
  if (body.template !== undefined) {
    for (const f of [...inline, ...(['stream', 'topic'] as const).filter((f) => body[f] !== undefined)]) errors.push({ field: f, message: 'is not used with a template (the template decides it); leave it out' });
  } else {
    if (body.subject === undefined) errors.push({ field: 'subject', message: 'is required without a template' });
    if (body.fromEmail === undefined) errors.push({ field: 'fromEmail', message: 'is required without a template' });
  }
  const sendAt = body.sendAt === undefined ? null : Date.parse(body.sendAt);
  if (sendAt !== null && (!Number.isFinite(sendAt) || !/^\d{4}-\d\d-\d\dT/.test(body.sendAt!))) errors.push({ field: 'sendAt', message: 'must be an ISO 8601 time such as 2026-12-01T09:00:00Z' });
  if (errors.length > 0) throw new AppError('validation_failed', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
  const content =
    body.template === undefined
      ? { subject: body.subject!, html: body.html ?? null, text: body.text ?? null, fromName: body.fromName ?? (await getStoreSettings(deps.ctx)).name, fromEmail: body.fromEmail!, replyTo: body.replyTo ?? null }
      : null;
  return {
    idempotencyKey: `tx:${key}`,
    source: 'tx',
    to: body.to,
    templateKey: body.template ?? null,
    content,
    ...(body.stream ? { stream: body.stream } : {}),
    topicKey: body.topic ?? null,
    data: body.data ?? {},
    locale: body.locale ?? null,
    streamId: 'tx',
    apiKeyId,
    sendAt,
  };
}

/**
 * Messages: send one (transactional API, rate-limited per API key), read one with its history,
 * list them. A repeated idempotency key answers 200 with the message it already made, whatever
 * the rest of the body says (the first call's content is what is sent).
 */
export const messageRoutes: FastifyPluginAsync<RouteDeps> = async (plain, deps) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const { ctx, txRate } = deps;
  const tags = ['messages'];
  const perKey = createMemoryTokenBuckets(ctx.clock, txRate);

  // After authentication (route hooks run after the API's own), so the key is known.
  const limit = async (req: FastifyRequest, reply: FastifyReply) => {
    const taken = perKey.take(String(req.apiKey?.id ?? req.ip));
    if (taken.ok) return;
    const seconds = Math.max(1, Math.ceil(taken.retryInMs / 1000));
    const message = `too many messages for this API key: at most ${txRate.perSecond} a second (bursts of ${txRate.burst}); retry after ${seconds} s`;
    await reply.status(429).header('retry-after', String(seconds)).send(errorBody('rate_limited', message, [{ field: 'authorization', message: 'rate limit reached for this key' }]));
  };

  app.post(
    '/messages',
    {
      onRequest: limit,
      schema: {
        tags,
        summary: 'Send one message (transactional API): queued at once, sent by the delivery workers',
        description: 'Give a template key, or inline subject/html/text with fromEmail. 202 with the new message; 200 and Idempotent-Replay: true when the idempotency key was used before (the existing message is returned, whatever this body says). Rate-limited per API key (429 with Retry-After).',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 200, description: 'the idempotency key, instead of the body field' })) }),
        body: SendBody,
      },
    },
    async (req, reply) => {
      const key = clientKey(req, req.body);
      const { message, created } = await enqueueMessage(ctx, await toInput(deps, req.body, key, req.apiKey?.id ?? null));
      if (!created) reply.header('idempotent-replay', 'true');
      return reply.status(created ? 202 : 200).send(messageJson(await getMessage(ctx, message.id)));
    },
  );

  app.get('/messages/:id', { schema: { tags, summary: 'Read a message: status, attempts, and its history', params: IdParams } }, async (req) => messageJson(await getMessage(ctx, req.params.id)));

  app.get('/messages', { schema: { tags, summary: 'List messages, newest first', querystring: ListQuery } }, async (req) => {
    const { status, contactId, campaignId } = req.query;
    const limit = req.query.limit ?? 50;
    const beforeId = req.query.cursor === undefined ? undefined : Number(req.query.cursor);
    if (beforeId !== undefined && !(Number.isSafeInteger(beforeId) && beforeId > 0)) throw invalid('cursor', 'is not a cursor this API returned');
    const rows = await listMessages(ctx, { status, to: storedAddress(req.query.to), contactId, campaignId, beforeId, limit: limit + 1 });
    const items = rows.slice(0, limit);
    return { items: items.map(messageJson), nextCursor: rows.length > limit ? String(items[items.length - 1]!.id) : null };
  });
};
