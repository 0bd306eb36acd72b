import { selectContact } from '../db/queries/contacts.ts';
import { selectMessageByRef, type MessageOutcome, type MessageRow } from '../db/queries/messages.ts';
import { selectTemplate, type StoredTemplate } from '../db/queries/templates.ts';
import { insertEvent } from '../db/queries/events.ts';
import { classifyRefusal, isThrottling, retryDelayMs, type RetryPolicy } from '../domain/messages.ts';
import { routeFor, type RouteRule, type TransportDefinition } from '../domain/transports.ts';
import { pickVariantLocale } from '../domain/templates.ts';
import { AppError } from '../lib/errors.ts';
import type { MailTransport, OutgoingMail, SendResult } from '../ports/mail-transport.ts';
import { BuildThreadError, createMessageBuilder, type BuildJob, type BuiltMessage, type VariantForBuild } from './message-builder.ts';
import type { ServiceContext } from './context.ts';
import { checkSendPermission } from './send-permission.ts';
import { getStoreSettings, type StoreSettings } from './store-settings.ts';
import { suppressAddress } from './suppressions.ts';
import { recipientFor, templateSettingsOf } from './templates.ts';
import { loadTemplateMetrics } from './contact-metrics.ts';

// One claimed message, start to finish: is it still allowed, build it, pick its transport, pass
// the gates (breaker, warm-up, rate, connections), send, and say what to record. The worker loop
// (workers/delivery.ts) claims rows and writes the outcomes; this file decides them.

/** The configured transports and routes, refreshed by the worker now and then. */
export interface TransportSet {
  definitions: readonly TransportDefinition[];
  rules: readonly RouteRule[];
  adapter(name: string): MailTransport;
}

/** Admission of one send by the rate-control gates. `done` must be called with the result. */
export type Admission =
  | { ok: true; done(result: SendResult): void }
  | { ok: false; retryAt: number; reason: string };

export interface SendGate {
  admit(transport: TransportDefinition | null, msg: { stream: 'marketing' | 'transactional'; recipientDomain: string; campaignId: number | null }, now: number): Promise<Admission>;
}

export interface DeliveryDeps {
  ctx: ServiceContext;
  build(job: BuildJob): Promise<BuiltMessage>;
  transports(): TransportSet;
  gate: SendGate;
  policy: RetryPolicy;
  random: () => number;
}

/** Small per-worker caches: templates and store settings are read once every few seconds, not per message. */
export class DeliveryCache {
  private templates = new Map<string, { at: number; t: StoredTemplate | undefined }>();
  private store: { at: number; s: StoreSettings } | null = null;
  constructor(private readonly ttlMs = 5000) {}

  async template(ctx: ServiceContext, key: string): Promise<StoredTemplate | undefined> {
    const now = ctx.clock.now();
    const hit = this.templates.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.t;
    const t = await selectTemplate(ctx.db, key);
    this.templates.set(key, { at: now, t });
    return t;
  }

  async storeSettings(ctx: ServiceContext): Promise<StoreSettings> {
    const now = ctx.clock.now();
    if (this.store && now - this.store.at < this.ttlMs) return this.store.s;
    const s = await getStoreSettings(ctx);
    this.store = { at: now, s };
    return s;
  }
}

const MAX_INLINE_WAIT_MS = 1000;

const final = (m: MessageRow, status: MessageOutcome['status'], reason: string, extra: Partial<MessageOutcome> = {}): MessageOutcome => ({
  id: m.id,
  status,
  dueAt: m.dueAt,
  attempted: false,
  reason,
  history: { response: reason },
  ...extra,
});

/** Decides what happens to one claimed message, sending it if it may go. Never throws for the message's own faults. */
export async function deliverMessage(deps: DeliveryDeps, cache: DeliveryCache, m: MessageRow): Promise<MessageOutcome> {
  const { ctx } = deps;
  const now = ctx.clock.now();
  if (now >= m.expiresAt) {
    return m.attempts > 0
      ? final(m, 'bounced', `soft_bounce: gave up after ${Math.round((now - m.createdAt) / 3600_000)} h and ${m.attempts} attempts; last: ${m.lastResponse ?? 'none'}`)
      : final(m, 'failed', `expired: not sent within ${Math.round((m.expiresAt - m.createdAt) / 3600_000)} h of being queued`);
  }
  const permission = await checkSendPermission(ctx, { email: m.toEmail, kind: m.stream as 'marketing' | 'transactional', ...(m.topicKey ? { topicKey: m.topicKey } : {}) });
  if (!permission.allowed) {
    const why = permission.reason === 'suppressed' ? `suppressed: ${permission.suppression}` : permission.reason === 'not_subscribed' ? `not subscribed to "${m.topicKey}" (${permission.status ?? 'no status'})` : permission.reason;
    return final(m, permission.reason === 'invalid_address' ? 'failed' : 'suppressed', why);
  }

  let job: BuildJob;
  try {
    job = await buildJob(ctx, cache, m, now);
  } catch (err) {
    const message = err instanceof AppError ? err.message : `the message could not be rendered: ${(err as Error).message}`;
    return final(m, 'failed', `render failed: ${message}`);
  }
  const set = deps.transports();
  const senderDomain = domainOf(job.variant.fromEmail);
  const recipientDomain = domainOf(m.toEmail);
  const route = routeFor({ stream: m.stream as 'marketing' | 'transactional', senderDomain, recipientDomain }, set.rules, set.definitions);
  job.withBodies = route.some((name) => set.definitions.find((d) => d.name === name)?.kind === 'sendgrid');
  let built: BuiltMessage;
  try {
    built = await deps.build(job);
  } catch (err) {
    if (err instanceof BuildThreadError) {
      ctx.logger.error({ messageId: m.id, err: err.message }, 'a build thread died; the message goes back to the queue');
      return { id: m.id, status: m.attempts > 0 ? 'deferred' : 'queued', dueAt: ctx.clock.now() + 5000, attempted: false, history: null };
    }
    const message = err instanceof AppError ? err.message : `the message could not be rendered: ${(err as Error).message}`;
    return final(m, 'failed', `render failed: ${message}`);
  }
  const mail: OutgoingMail = {
    messageRef: m.ref,
    envelope: built.envelope,
    raw: built.raw,
    stream: m.stream as 'marketing' | 'transactional',
    parts: built.parts,
    tags: { stream: m.streamId.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64), ...(m.templateKey ? { template: m.templateKey } : {}) },
  };

  let result: SendResult | null = null;
  let used = '';
  let held: { retryAt: number; reason: string } | null = null;
  const failedOver: NonNullable<MessageOutcome['failedOver']> = [];
  for (const name of route) {
    const def = set.definitions.find((d) => d.name === name) ?? null;
    let admission = await deps.gate.admit(def, { stream: mail.stream, recipientDomain, campaignId: m.campaignId }, ctx.clock.now());
    // A short wait (the next token of a rate, a connection slot) is waited out here; a long one
    // (a warm-up day, a paused breaker) puts the message back in the queue.
    for (let waits = 0; !admission.ok && admission.retryAt - ctx.clock.now() <= MAX_INLINE_WAIT_MS && waits < 100; waits++) {
      await new Promise((r) => setTimeout(r, Math.max(1, admission.ok ? 0 : admission.retryAt - ctx.clock.now())));
      admission = await deps.gate.admit(def, { stream: mail.stream, recipientDomain, campaignId: m.campaignId }, ctx.clock.now());
    }
    if (!admission.ok) {
      // Held by a gate (paused breaker, day's warm-up cap, rate): the message waits for this
      // transport. Failing over would pour a paused campaign or a capped warm-up's overflow into
      // the next transport, whose reputation the same limits protect.
      held = admission;
      // After a failover the last transport's deferral is what gets recorded, not a failover entry.
      if (result) failedOver.pop();
      break;
    }
    used = name;
    result = await set.adapter(name).send(mail).catch((err: unknown): SendResult => ({ status: 'deferred', response: `transport error: ${(err as Error).message}` }));
    admission.done(result);
    // Fail over to the next transport only when this one could not take the message at all;
    // a recipient's 4xx (greylisting, throttling) is retried later on the same route.
    if (result.status === 'deferred' && transportDown(result) && name !== route.at(-1)) {
      failedOver.push({ transport: name, code: result.code ?? null, enhanced: result.enhanced ?? null, response: truncate(result.response) });
      continue;
    }
    break;
  }

  const at = ctx.clock.now();
  if (!result) {
    // Not attempted: back in the queue until the gate opens, no attempt counted.
    return { id: m.id, status: m.attempts > 0 ? 'deferred' : 'queued', dueAt: held!.retryAt, attempted: false, reason: held!.reason, history: null };
  }
  const reply = { code: result.status === 'sent' ? null : (result.code ?? null), enhanced: result.status === 'sent' ? null : (result.enhanced ?? null), response: truncate(result.response) };
  const withFailover = (o: MessageOutcome): MessageOutcome => (failedOver.length > 0 ? { ...o, failedOver } : o);
  if (result.status === 'sent') {
    return withFailover({ id: m.id, status: 'sent', dueAt: at, attempted: true, transport: used, providerMessageId: result.providerMessageId, lastResponse: reply.response, reason: null, sentAt: at, history: reply });
  }
  if (result.status === 'deferred') {
    const attempt = m.attempts + 1;
    const next = at + retryDelayMs(deps.policy, attempt, result.retryAfterMs, deps.random);
    if (next >= m.expiresAt) {
      return withFailover({ id: m.id, status: 'bounced', dueAt: at, attempted: true, transport: used, lastResponse: reply.response, reason: `soft_bounce: still deferred when the retry window closed (${attempt} attempts)`, history: reply });
    }
    return withFailover({ id: m.id, status: 'deferred', dueAt: next, attempted: true, transport: used, lastResponse: reply.response, reason: isThrottling(result) ? 'throttled by the receiver' : null, history: reply });
  }
  if (result.code !== undefined && result.code < 500) {
    // An ESP's permanent 4xx (a request it will never take, e.g. a malformed one): a failure of
    // this message, not a bounce of the address.
    return withFailover({ id: m.id, status: 'failed', dueAt: at, attempted: true, transport: used, lastResponse: reply.response, reason: `refused by ${used}: ${reply.response.slice(0, 200)}`, history: reply });
  }
  const kind = classifyRefusal(result.code, result.enhanced);
  if (kind === 'hard_bounce') {
    await suppressAddress(ctx, { email: m.toEmail, reason: 'hard_bounce', source: `smtp:${used}`, note: reply.response.slice(0, 200) }).catch(() => undefined);
  }
  if (kind === 'policy_block') {
    ctx.logger.warn({ transport: used, messageId: m.id, recipientDomain, reply: reply.response }, 'delivery refused by receiver policy (5.7.x): check reputation, authentication and content; recipient not suppressed');
  }
  await insertEvent(ctx.db, { type: 'email_bounced', contactId: m.contactId, messageRef: m.ref, properties: { kind, transport: used, code: reply.code, enhanced: reply.enhanced, campaignId: m.campaignId }, ip: null, userAgent: null, occurredAt: at });
  return withFailover({ id: m.id, status: 'bounced', dueAt: at, attempted: true, transport: used, lastResponse: reply.response, reason: `${kind}: ${reply.response.slice(0, 200)}`, history: reply });
}

/** A deferral that says the transport itself is unusable (no connection, its API down or refusing our credentials). */
function transportDown(r: Extract<SendResult, { status: 'deferred' }>): boolean {
  return r.code === undefined || r.code >= 500 || r.code === 401 || r.code === 403;
}

async function buildJob(ctx: ServiceContext, cache: DeliveryCache, m: MessageRow, now: number): Promise<BuildJob> {
  const store = await cache.storeSettings(ctx);
  const contact = m.contactId !== null ? await selectContact(ctx.db, m.contactId) : undefined;
  const recipient = contact
    ? recipientFor(contact, store, await loadTemplateMetrics(ctx.db, contact.id))
    : recipientFor({ id: 0, email: m.toEmail, firstName: null, lastName: null, locale: m.locale, timezone: null, currency: null, phone: null, attributes: {}, externalIds: {}, createdAt: m.createdAt, updatedAt: m.createdAt }, store);
  // The message goes to the address it was queued for, even if the contact's address changed since.
  recipient.email = m.toEmail;
  const context = m.data;
  if (m.templateKey) {
    const t = await cache.template(ctx, m.templateKey);
    if (!t) throw new AppError('not_found', `template "${m.templateKey}" no longer exists`);
    const locale = pickVariantLocale(t.variants.map((v) => v.locale), m.locale ?? contact?.locale ?? null, store.defaultLocale, t.defaultLocale);
    const v = t.variants.find((x) => x.locale === locale)!;
    const variant: VariantForBuild = { cacheKey: `${v.id}:${v.version}`, locale: v.locale, fromName: v.fromName, fromEmail: v.fromEmail, replyTo: v.replyTo, subject: v.subject, preheader: v.preheader, html: v.compiledHtml, text: v.textBody };
    return {
      ref: m.ref,
      now,
      store,
      template: templateSettingsOf(t, store),
      variant,
      recipient,
      context,
      streamId: m.streamId,
      withBodies: false,
    };
  }
  const c = m.content!;
  const variant: VariantForBuild = {
    cacheKey: `inline:${m.id}`,
    locale: recipient.format.locale,
    fromName: c.fromName,
    fromEmail: c.fromEmail,
    replyTo: c.replyTo,
    subject: c.subject,
    preheader: '',
    html: c.html ?? `<html><body><pre>{{ __text }}</pre>{{ __pixel }}</body></html>`,
    text: c.text,
  };
  return {
    ref: m.ref,
    now,
    store,
    template: { key: 'inline', kind: m.stream as 'marketing' | 'transactional', topicKey: m.topicKey, trackOpens: c.html !== null, trackClicks: c.html !== null, utm: null },
    variant,
    recipient,
    context: c.html ? context : { ...context, __text: c.text },
    streamId: m.streamId,
    withBodies: false,
  };
}

/**
 * The web version of a message from the outbox: rendered again from its row (template version,
 * data, the same ref, so the same signed links), as it was at its sending time. Undefined for an
 * unknown ref or a message that was never sent.
 */
export async function renderOutboxMessage(ctx: ServiceContext, ref: string): Promise<string | undefined> {
  const m = await selectMessageByRef(ctx.db, ref);
  if (!m || m.sentAt === null) return undefined;
  const job = await buildJob(ctx, new DeliveryCache(), m, m.sentAt);
  const build = createMessageBuilder({ liquid: ctx.composer.liquid, urls: ctx.composer.urls, sign: (raw) => raw });
  return (await build({ ...job, withBodies: true })).parts.html;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

function truncate(s: string): string {
  return s.length > 1000 ? `${s.slice(0, 1000)}…` : s;
}
