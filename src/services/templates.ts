import type { Template as LiquidTemplate } from 'liquidjs';
import { inTransaction } from '../db/database.ts';
import { selectContact } from '../db/queries/contacts.ts';
import { deleteTemplate, saveTemplate, selectTemplate, selectTemplateSummaries, type StoredTemplate, type StoredVariant } from '../db/queries/templates.ts';
import { selectTopicByKey } from '../db/queries/topics.ts';
import type { Contact } from '../domain/contacts.ts';
import { validateContactInput } from '../domain/contacts.ts';
import { normalizeEmail } from '../domain/emails.ts';
import { missingMarketingFooter, pickVariantLocale, TEMPLATE_KEY, type TemplateInput, type Utm } from '../domain/templates.ts';
import { AppError, type ErrorDetail } from '../lib/errors.ts';
import { checkLiquid, compileVariant } from '../templates/compile.ts';
import { buildMime, composeMessage, type ComposedMessage, type PreparedVariant, type Recipient, type TemplateSettings } from '../templates/compose.ts';
import { isRtl } from '../templates/formatting.ts';
import { newMessageRef } from '../templates/tracking-urls.ts';
import type { SendResult } from '../ports/mail-transport.ts';
import type { ServiceContext } from './context.ts';
import { getStoreSettings } from './store-settings.ts';
import { loadTemplateMetrics, templateMetricsOf, type TemplateMetrics } from './contact-metrics.ts';
import { sampleContact, sampleContext } from './template-samples.ts';

/** Lists templates without their bodies. */
export function listTemplates(ctx: ServiceContext) {
  return selectTemplateSummaries(ctx.db);
}

/** Reads one template with all its variants, or fails with not_found. */
export async function getTemplate(ctx: ServiceContext, key: string): Promise<StoredTemplate> {
  const t = await selectTemplate(ctx.db, key);
  if (!t) throw new AppError('not_found', `template "${key}" does not exist`);
  return t;
}

/** Deletes a template. */
export async function removeTemplate(ctx: ServiceContext, key: string): Promise<void> {
  if (!(await deleteTemplate(ctx.db, key))) throw new AppError('not_found', `template "${key}" does not exist`);
}

/**
 * Validates, compiles and stores a template as a new version. Every MJML and Liquid error comes
 * back at once with its field, line and column; marketing templates must carry the postal
 * address and an unsubscribe link. `mode` create fails on an existing key, replace on a missing one.
 */
export async function saveTemplateInput(ctx: ServiceContext, input: TemplateInput, mode: 'create' | 'replace'): Promise<StoredTemplate> {
  const errors: ErrorDetail[] = [];
  const fail = (field: string, message: string, pos: { line?: number; column?: number } = {}) =>
    errors.push({ field, message: pos.line ? `line ${pos.line}${pos.column ? `, column ${pos.column}` : ''}: ${message}` : message, ...pos });
  if (!TEMPLATE_KEY.test(input.key)) fail('key', 'must be lower-case letters, digits, - and _ (at most 64)');
  if (input.name.trim() === '') fail('name', 'must not be empty');
  let topicId: number | null = null;
  if (input.kind === 'marketing') {
    if (!input.topic) fail('topic', 'a marketing template needs the topic its readers subscribed to');
    else {
      const topic = await selectTopicByKey(ctx.db, input.topic);
      if (!topic) fail('topic', `no topic "${input.topic}"; create it first`);
      else topicId = topic.id;
    }
  } else if (input.topic) {
    const topic = await selectTopicByKey(ctx.db, input.topic);
    topicId = topic?.id ?? null;
    if (!topic) fail('topic', `no topic "${input.topic}"`);
  }
  const locales = Object.keys(input.variants);
  if (locales.length === 0) fail('variants', 'at least one locale variant is required');
  if (locales.length > 0 && !locales.includes(input.defaultLocale)) fail('defaultLocale', `must be one of the variants' locales (${locales.join(', ')})`);
  const store = await getStoreSettings(ctx);
  const compiled: Parameters<typeof saveTemplate>[1]['variants'] = [];
  for (const [locale, v] of Object.entries(input.variants)) {
    const p = `variants/${locale}/`;
    const loc = validateContactInput({ locale }, { requireEmail: false });
    if (!loc.ok || loc.value.locale !== locale) fail(`variants/${locale}`, `"${locale}" is not a canonical BCP 47 locale${loc.ok ? ` (write "${loc.value.locale}")` : ''}`);
    if (!normalizeEmail(v.fromEmail).ok) fail(`${p}fromEmail`, 'is not a valid email address');
    if (v.replyTo !== null && !normalizeEmail(v.replyTo).ok) fail(`${p}replyTo`, 'is not a valid email address');
    if (/[\r\n]/.test(v.fromName) || /[\r\n]/.test(v.subject)) fail(`${p}${/[\r\n]/.test(v.subject) ? 'subject' : 'fromName'}`, 'must be a single line');
    if (v.subject.trim() === '') fail(`${p}subject`, 'must not be empty');
    const liquidProblems = checkLiquid(ctx.composer.liquid, { subject: v.subject, preheader: v.preheader, body: v.body, ...(v.textBody !== null ? { textBody: v.textBody } : {}) });
    for (const lp of liquidProblems) fail(p + lp.field, lp.message, { line: lp.line, column: lp.column });
    if (input.kind === 'marketing') {
      for (const m of missingMarketingFooter(v, store.address)) fail(p + m.field, m.message);
    }
    if (liquidProblems.some((lp) => lp.field === 'body')) continue;
    const out = await compileVariant(v, isRtl(locale) ? 'rtl' : 'ltr', locale);
    if (!out.ok) {
      for (const pr of out.problems) fail(p + pr.field, pr.message, { line: pr.line, column: pr.column });
      continue;
    }
    compiled.push({ ...v, locale, compiledHtml: out.value.html });
  }
  if (input.kind === 'marketing' && store.address.trim() === '') {
    fail('store.address', 'the store has no postal address yet; set it first (PUT /api/v1/settings/store), every marketing email must show it');
  }
  if (errors.length > 0) throw new AppError('validation_failed', `the template has ${errors.length} problem${errors.length > 1 ? 's' : ''}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, errors);

  await inTransaction(ctx.db, async (tx) => {
    const exists = (await selectTemplate(tx, input.key)) !== undefined;
    if (mode === 'create' && exists) throw new AppError('conflict', `template "${input.key}" already exists`, [{ field: 'key', message: 'already exists' }]);
    if (mode === 'replace' && !exists) throw new AppError('not_found', `template "${input.key}" does not exist`);
    await saveTemplate(tx, { ...input, topicId, variants: compiled }, ctx.clock.now());
  });
  return getTemplate(ctx, input.key);
}

const PREPARED_MAX = 500;

/** The parsed variant for a version, from the cache or parsed now. */
export function prepareVariant(ctx: ServiceContext, v: StoredVariant): PreparedVariant {
  const prepared = ctx.composer.prepared;
  const key = `${v.id}:${v.version}`;
  let hit = prepared.get(key);
  if (!hit) {
    const parse = (s: string): LiquidTemplate[] => ctx.composer.liquid.parse(s);
    hit = { locale: v.locale, fromName: v.fromName, fromEmail: v.fromEmail, replyTo: v.replyTo, subject: parse(v.subject), preheader: parse(v.preheader), html: parse(v.compiledHtml), text: v.textBody === null ? null : parse(v.textBody) };
    if (prepared.size >= PREPARED_MAX) prepared.delete(prepared.keys().next().value!);
    prepared.set(key, hit);
  }
  return hit;
}

/** What composition needs of a stored template; its UTM falls back to the store's. */
export function templateSettingsOf(t: StoredTemplate, store: { utm: Utm | null }): TemplateSettings {
  return { key: t.key, kind: t.kind, topicKey: t.topic, trackOpens: t.trackOpens, trackClicks: t.trackClicks, utm: t.utm ?? store.utm };
}

/** The `contact` object templates see and the reader's format, from a contact and the store defaults; `metrics` becomes `contact.metrics`. */
export function recipientFor(c: Contact, store: { defaultLocale: string; defaultCurrency: string; defaultTimezone: string }, metrics?: TemplateMetrics): Recipient {
  return {
    contactId: c.id,
    // A contact known only by a store id has no address; callers address the message themselves.
    email: c.email ?? '',
    contact: { id: c.id, email: c.email, first_name: c.firstName, last_name: c.lastName, locale: c.locale, timezone: c.timezone, currency: c.currency, phone: c.phone, attributes: c.attributes, ...(metrics ? { metrics } : {}) },
    format: { locale: c.locale ?? store.defaultLocale, currency: c.currency ?? store.defaultCurrency, timezone: c.timezone ?? store.defaultTimezone },
  };
}

export interface RenderRequest {
  locale?: string;
  /** A real contact to render for; otherwise a sample contact in the variant's language. */
  contactId?: number;
  /** Order, cart… data; defaults to realistic samples. */
  context?: Record<string, unknown>;
  /** Send to this address instead of the contact's (test sends). */
  to?: string;
}

/** Renders a template for one contact (or a sample), exactly as it would be sent. */
export async function renderTemplate(ctx: ServiceContext, key: string, req: RenderRequest): Promise<{ message: ComposedMessage; locale: string; template: StoredTemplate }> {
  const template = await getTemplate(ctx, key);
  const store = await getStoreSettings(ctx);
  const now = ctx.clock.now();
  let contact: Contact | undefined;
  if (req.contactId !== undefined) {
    contact = await selectContact(ctx.db, req.contactId);
    if (!contact) throw new AppError('not_found', `contact ${req.contactId} does not exist`, [{ field: 'contactId', message: 'no such contact' }]);
    if (contact.email === null && req.to === undefined) {
      throw new AppError('validation_failed', `contact ${req.contactId} has no email address yet (it is known only by a store customer id), so mail cannot be made for it; a test send to another address can still use its data`, [{ field: 'contactId', message: 'has no email address' }]);
    }
  }
  const locale = pickVariantLocale(template.variants.map((v) => v.locale), req.locale ?? contact?.locale ?? null, store.defaultLocale, template.defaultLocale);
  const variant = template.variants.find((v) => v.locale === locale)!;
  const metrics = contact ? await loadTemplateMetrics(ctx.db, contact.id) : templateMetricsOf(null);
  contact ??= sampleContact(locale, now);
  const recipient = recipientFor(contact, store, metrics);
  if (req.to !== undefined) recipient.email = req.to;
  const context = req.context ?? sampleContext(recipient.format.locale, recipient.format.currency, now, store.url);
  const message = await composeMessage(ctx.composer, store, {
    template: templateSettingsOf(template, store),
    variant: prepareVariant(ctx, variant),
    recipient,
    context,
    messageRef: newMessageRef(now),
    streamId: `template-${template.key}`,
  }).catch((err: unknown) => {
    if (err instanceof AppError) throw err;
    throw new AppError('validation_failed', `the template could not be rendered: ${(err as Error).message}`, [{ field: 'template', message: (err as Error).message }]);
  });
  return { message, locale, template };
}

/** Sends one rendered copy to one address through the configured transport (capture by default). */
export async function sendTestMessage(ctx: ServiceContext, key: string, req: RenderRequest & { to: string }): Promise<{ messageRef: string; transport: string; result: SendResult }> {
  const to = normalizeEmail(req.to);
  if (!to.ok) throw new AppError('validation_failed', `to: "${req.to}" is not a valid email address`, [{ field: 'to', message: `is not a valid email address: it ${to.reason}` }]);
  const { message, template } = await renderTemplate(ctx, key, { ...req, to: to.value.email });
  const tagged = { ...message, subject: `[Test] ${message.subject}` };
  const raw = await buildMime(tagged, ctx.clock.now());
  const { messageRef, envelope, ...parts } = tagged;
  const result = await ctx.transport.send({
    messageRef,
    envelope,
    raw,
    stream: template.kind,
    parts,
    tags: { template: key, test: 'true' },
  });
  ctx.logger.info({ template: key, messageRef: message.messageRef, transport: ctx.transport.name, status: result.status }, 'test message sent');
  return { messageRef: message.messageRef, transport: ctx.transport.name, result };
}
