import { selectContactIdsByEmailKeys } from '../db/queries/contacts.ts';
import { insertMessage, selectHistory, selectMessage, selectMessages, type HistoryRow, type MessageContent, type MessageRow } from '../db/queries/messages.ts';
import { selectTemplate } from '../db/queries/templates.ts';
import { normalizeEmail } from '../domain/emails.ts';
import { DEFAULT_RETRY_POLICY, type MessageStatus } from '../domain/messages.ts';
import { AppError, type ErrorDetail } from '../lib/errors.ts';
import { checkLiquid, compileVariant } from '../templates/compile.ts';
import { newMessageRef } from '../templates/tracking-urls.ts';
import type { ServiceContext } from './context.ts';

// The outbox's front door: every email becomes a `messages` row before anything is sent, under a
// unique idempotency key, so a retried API call, a re-run campaign or a replayed flow step finds
// the message it already made instead of making a second one.

export interface NewMessageInput {
  /** The full key: `tx:<client key>`, `campaign:<id>:<contact>`, `flow:<run>:<step>`. */
  idempotencyKey: string;
  source: 'tx' | 'campaign' | 'flow' | 'test';
  to: string;
  contactId?: number | null;
  templateKey?: string | null;
  /** Inline content instead of a stored template (transactional API). */
  content?: { subject: string; html?: string | null; text?: string | null; fromName: string; fromEmail: string; replyTo?: string | null } | null;
  /** Inline content's stream; a template's kind decides otherwise. */
  stream?: 'marketing' | 'transactional';
  topicKey?: string | null;
  data?: Record<string, unknown>;
  locale?: string | null;
  campaignId?: number | null;
  /** What Feedback-ID names as the campaign: `campaign-12`, `flow-welcome`, `tx`. */
  streamId?: string;
  apiKeyId?: number | null;
  /** Not before this time (epoch ms); now when absent. */
  sendAt?: number | null;
}

/**
 * Puts a message in the outbox, or returns the one already there under the same key (`created`
 * false). A recipient that is not a valid address is recorded as failed with the reason, never sent.
 * An unknown template, or inline content that does not parse, is the caller's error (400).
 */
export async function enqueueMessage(ctx: ServiceContext, input: NewMessageInput): Promise<{ message: MessageRow; created: boolean }> {
  const now = ctx.clock.now();
  let stream = input.stream ?? 'transactional';
  let topicKey = input.topicKey ?? null;
  let content: MessageContent | null = null;
  if (input.templateKey) {
    const template = await selectTemplate(ctx.db, input.templateKey);
    if (!template) throw new AppError('validation_failed', `template: no template "${input.templateKey}"`, [{ field: 'template', message: 'does not exist' }]);
    stream = template.kind;
    topicKey = template.topic;
  } else if (input.content) {
    content = await compileInline(ctx, input.content);
  } else {
    throw new AppError('validation_failed', 'a message needs a template or inline content (subject and html or text)', [{ field: 'template', message: 'template or content is required' }]);
  }
  if (stream === 'marketing' && !topicKey) throw new AppError('validation_failed', 'topic: marketing mail needs the topic its reader subscribed to', [{ field: 'topic', message: 'required for marketing mail' }]);

  const addr = normalizeEmail(input.to);
  let contactId = input.contactId ?? null;
  if (addr.ok && contactId === null) contactId = (await selectContactIdsByEmailKeys(ctx.db, [addr.value.key])).get(addr.value.key) ?? null;
  const status: MessageStatus = addr.ok ? 'queued' : 'failed';
  const reason = addr.ok ? null : `invalid recipient: "${input.to}" ${addr.reason}`;
  const result = await insertMessage(
    ctx.db,
    {
      idempotencyKey: input.idempotencyKey,
      ref: newMessageRef(now),
      stream,
      source: input.source,
      contactId,
      toEmail: addr.ok ? addr.value.email : input.to.slice(0, 320),
      templateKey: input.templateKey ?? null,
      content,
      data: input.data ?? {},
      locale: input.locale ?? null,
      topicKey,
      campaignId: input.campaignId ?? null,
      streamId: input.streamId ?? input.source,
      status,
      reason,
      dueAt: Math.max(now, input.sendAt ?? now),
      apiKeyId: input.apiKeyId ?? null,
      expiresAt: Math.max(now, input.sendAt ?? now) + DEFAULT_RETRY_POLICY.maxAgeMs,
      createdAt: now,
      updatedAt: now,
    },
    { status, response: reason },
  );
  if (result.created && status === 'queued') ctx.wakeDelivery();
  return result;
}

async function compileInline(ctx: ServiceContext, c: NonNullable<NewMessageInput['content']>): Promise<MessageContent> {
  const errors: ErrorDetail[] = [];
  if (c.subject.trim() === '' || /[\r\n]/.test(c.subject)) errors.push({ field: 'subject', message: 'must be one non-empty line' });
  if (/[\r\n]/.test(c.fromName)) errors.push({ field: 'fromName', message: 'must be a single line' });
  if (!normalizeEmail(c.fromEmail).ok) errors.push({ field: 'fromEmail', message: 'is not a valid email address' });
  if (c.replyTo && !normalizeEmail(c.replyTo).ok) errors.push({ field: 'replyTo', message: 'is not a valid email address' });
  if (!c.html && !c.text) errors.push({ field: 'html', message: 'give html, text, or both' });
  const parts: Record<string, string> = { subject: c.subject };
  if (c.html) parts.html = c.html;
  if (c.text) parts.text = c.text;
  for (const p of checkLiquid(ctx.composer.liquid, parts)) errors.push({ field: p.field, message: p.line ? `line ${p.line}, column ${p.column}: ${p.message}` : p.message });
  if (errors.length > 0) throw new AppError('validation_failed', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
  let html: string | null = null;
  if (c.html) {
    const out = await compileVariant({ subject: c.subject, preheader: '', bodyType: 'html', body: c.html, textBody: c.text ?? null }, 'ltr', 'en');
    if (!out.ok) throw new AppError('validation_failed', out.problems.map((p) => `html: ${p.message}`).join('; '), out.problems.map((p) => ({ field: 'html', message: p.message })));
    html = out.value.html;
  }
  return { subject: c.subject, html, text: c.text ?? null, fromName: c.fromName, fromEmail: c.fromEmail, replyTo: c.replyTo ?? null };
}

/** A message as the API shows it, with its history. */
export interface MessageView {
  id: number;
  idempotencyKey: string;
  ref: string;
  stream: string;
  source: string;
  to: string;
  contactId: number | null;
  template: string | null;
  status: MessageStatus;
  attempts: number;
  transport: string | null;
  providerMessageId: string | null;
  lastResponse: string | null;
  reason: string | null;
  /** When it is next tried (queued or deferred), else null. */
  nextAttemptAt: number | null;
  createdAt: number;
  sentAt: number | null;
  history?: { status: string; attempt: number | null; transport: string | null; code: number | null; enhanced: string | null; response: string | null; at: number }[];
}

export function messageView(m: MessageRow, history?: HistoryRow[]): MessageView {
  return {
    id: m.id,
    idempotencyKey: m.idempotencyKey,
    ref: m.ref,
    stream: m.stream,
    source: m.source,
    to: m.toEmail,
    contactId: m.contactId,
    template: m.templateKey,
    status: m.status,
    attempts: m.attempts,
    transport: m.transport,
    providerMessageId: m.providerMessageId,
    lastResponse: m.lastResponse,
    reason: m.reason,
    nextAttemptAt: m.status === 'queued' || m.status === 'deferred' ? m.dueAt : null,
    createdAt: m.createdAt,
    sentAt: m.sentAt,
    ...(history ? { history: history.map(({ status, attempt, transport, code, enhanced, response, at }) => ({ status, attempt, transport, code, enhanced, response, at })) } : {}),
  };
}

export async function getMessage(ctx: ServiceContext, id: number): Promise<MessageView> {
  const m = await selectMessage(ctx.db, id);
  if (!m) throw new AppError('not_found', `message ${id} does not exist`);
  return messageView(m, await selectHistory(ctx.db, id));
}

export async function listMessages(ctx: ServiceContext, f: Parameters<typeof selectMessages>[1]): Promise<MessageView[]> {
  return (await selectMessages(ctx.db, f)).map((m) => messageView(m));
}
