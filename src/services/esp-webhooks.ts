import { MAILGUN_FRESHNESS_MS, readMailgunEvent, verifyMailgunWebhook } from '../adapters/feedback/mailgun-events.ts';
import { createReplayTokens, type ReplayTokens } from '../adapters/feedback/replay-tokens.ts';
import { readSendGridEvents, SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER, verifySendGridWebhook } from '../adapters/feedback/sendgrid-events.ts';
import { createSnsCertificates, type SnsCertificates } from '../adapters/feedback/sns-certificates.ts';
import { objectOf, type WebhookReading } from '../adapters/feedback/webhook-reading.ts';
import { parseSendGridPublicKey } from '../adapters/feedback/webhook-settings.ts';
import { selectTransport } from '../db/queries/transports.ts';
import type { TransportDefinition, TransportKind } from '../domain/transports.ts';
import { AppError } from '../lib/errors.ts';
import type { HttpsGet } from '../ports/https-get.ts';
import type { ServiceContext } from './context.ts';
import { recordFeedback, recordUnmatched } from './feedback.ts';
import { definitionOf } from './transports.ts';

// ESP event webhooks: find the transport named in the URL, check the body's signature with that
// transport's key, normalise, and record. Nothing is stored before the signature holds.

/** What the webhook endpoints keep between requests: the SNS key cache and Mailgun's replay cache. */
export interface WebhookRuntime {
  httpsGet: HttpsGet;
  certificates: SnsCertificates;
  mailgunTokens: ReplayTokens;
}

/** One runtime per HTTP server; `httpsGet` is the real fetcher in production, a fake in tests. */
export function createWebhookRuntime(httpsGet: HttpsGet): WebhookRuntime {
  // Tokens are kept for the whole freshness window on either side of now.
  return { httpsGet, certificates: createSnsCertificates(httpsGet), mailgunTokens: createReplayTokens(2 * MAILGUN_FRESHNESS_MS) };
}

/** One webhook request as it arrived: the transport named in the URL, the raw bytes, the headers. */
export interface WebhookDelivery {
  transport: string;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * What became of a webhook: events recorded (with counts), an SNS subscription change, or a
 * signed body refused for good (Mailgun's 406: the same body would fail the same way again).
 */
export type WebhookOutcome =
  | { status: 'received'; applied: number; duplicate: number; unmatched: number; ignored: number }
  | { status: 'subscription_confirmed' | 'subscription_removed' }
  | { status: 'refused'; why: string };

/** Checks a Mailgun webhook's signature, freshness and token, then records its event. */
export async function receiveMailgunWebhook(ctx: ServiceContext, rt: WebhookRuntime, d: WebhookDelivery): Promise<WebhookOutcome> {
  const def = await loadWebhookTransport(ctx, 'mailgun', d.transport);
  const signingKey = def.secrets.webhookSigningKey;
  if (!signingKey) throw unverified(ctx, def, `transport "${def.name}" has no webhookSigningKey secret; add Mailgun's HTTP webhook signing key to it`);
  const now = ctx.clock.now();
  const checked = verifyMailgunWebhook({ body: d.body, contentType: header(d, 'content-type'), signingKey, now });
  if (!checked.ok) throw unverified(ctx, def, checked.why);
  const { token, format, eventData } = checked.value;
  if (!rt.mailgunTokens.claim(token, now)) throw unverified(ctx, def, 'this signature token was used before (a replayed request)');
  try {
    if (format === 'legacy') return await refuse(ctx, 'mailgun', "a legacy (form-encoded) Mailgun webhook; set the webhook up again in Mailgun's current (JSON) webhooks");
    if (!objectOf(eventData)) return await refuse(ctx, 'mailgun', 'the webhook has no "event-data" object');
    return await storeReading(ctx, def, readMailgunEvent(eventData, now));
  } catch (err) {
    // Not stored: let Mailgun's retry (which carries the same token) through.
    rt.mailgunTokens.release(token);
    throw err;
  }
}

/** Checks a SendGrid Event Webhook batch's ECDSA signature, then records its events. */
export async function receiveSendGridWebhook(ctx: ServiceContext, d: WebhookDelivery): Promise<WebhookOutcome> {
  const def = await loadWebhookTransport(ctx, 'sendgrid', d.transport);
  if (def.settings.webhookPublicKey === undefined) throw unverified(ctx, def, `transport "${def.name}" has no webhookPublicKey setting; turn on the Signed Event Webhook in SendGrid and paste its verification key`);
  const checked = verifySendGridWebhook({
    body: d.body,
    signature: header(d, SENDGRID_SIGNATURE_HEADER),
    timestamp: header(d, SENDGRID_TIMESTAMP_HEADER),
    publicKey: parseSendGridPublicKey(def.settings.webhookPublicKey),
  });
  if (!checked.ok) throw unverified(ctx, def, checked.why);
  return storeReading(ctx, def, readSendGridEvents(checked.value, ctx.clock.now()));
}

/** The transport of `kind` named `name`, secrets included; 404 when there is none (enabled or not: late events still count). */
export async function loadWebhookTransport(ctx: ServiceContext, kind: TransportKind, name: string): Promise<TransportDefinition> {
  const row = await selectTransport(ctx.db, name);
  if (!row || row.kind !== kind) throw new AppError('not_found', `no ${kind} transport named "${name}"; the webhook URL ends with the name of the transport that sends through ${kind}`, [{ field: 'transport', message: 'unknown' }]);
  return definitionOf(ctx, row);
}

/** Records a verified reading: events (each stored once) and the items kept for an operator. */
export async function storeReading(ctx: ServiceContext, def: TransportDefinition, reading: WebhookReading): Promise<WebhookOutcome> {
  const results = await recordFeedback(ctx, reading.events);
  for (const u of reading.unmatched) await recordUnmatched(ctx, u);
  const count = (s: string) => results.filter((r) => r.status === s).length;
  const outcome = { status: 'received' as const, applied: count('applied'), duplicate: count('duplicate'), unmatched: count('unmatched') + reading.unmatched.length, ignored: reading.ignored };
  ctx.logger.debug({ transport: def.name, kind: def.kind, ...outcome }, 'webhook received');
  return outcome;
}

/** A 401 for a request whose origin could not be verified, logged (with why, never the body). */
export function unverified(ctx: ServiceContext, def: TransportDefinition, why: string): AppError {
  ctx.logger.warn({ transport: def.name, kind: def.kind, why }, 'webhook signature refused');
  return new AppError('unauthorized', `webhook not accepted: ${why}`, [{ field: 'signature', message: why }]);
}

async function refuse(ctx: ServiceContext, source: 'mailgun', why: string): Promise<WebhookOutcome> {
  await recordUnmatched(ctx, { source, why });
  return { status: 'refused', why };
}

/** A request header's first value. */
export function header(d: WebhookDelivery, name: string): string | undefined {
  const v = d.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
