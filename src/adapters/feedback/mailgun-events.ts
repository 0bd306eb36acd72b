import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FeedbackEvent, MessageLocator } from '../../domain/feedback.ts';
import { MESSAGE_REF_LABEL } from '../transports/esp-labels.ts';
import { espBounceVerdict, failureType } from './esp-bounces.ts';
import { emptyReading, excerptOf, integerOf, objectOf, secondsToMs, textOf, type Verification, type WebhookReading } from './webhook-reading.ts';

// Mailgun's webhooks (formats.md §4.1): a JSON body holding `signature` {timestamp, token,
// signature} and `event-data`; the signature is hex HMAC-SHA256 of timestamp+token under the
// domain's HTTP webhook signing key. Legacy webhooks posted a form with the same three fields.

/** How far a signature's timestamp may be from now, either way, before it is refused as stale. */
export const MAILGUN_FRESHNESS_MS = 15 * 60_000;

/** A verified Mailgun body: its signature token (for the replay cache) and what it reports. */
export interface MailgunPayload {
  token: string;
  /** `legacy` for a form-encoded body: verified, but in a format Chapar does not read. */
  format: 'json' | 'legacy';
  eventData: unknown;
}

/** `hex(HMAC-SHA256(signingKey, timestamp + token))`, as Mailgun computes it. */
export function mailgunSignature(signingKey: string, timestamp: string, token: string): string {
  return createHmac('sha256', signingKey).update(timestamp + token).digest('hex');
}

/**
 * Checks a webhook body's signature against the signing key, in constant time, and that its
 * timestamp is within MAILGUN_FRESHNESS_MS of `now`. Pure: the replay cache is the caller's.
 */
export function verifyMailgunWebhook(input: { body: Buffer; contentType: string | undefined; signingKey: string; now: number }): Verification<MailgunPayload> {
  const read = readSignedBody(input.body, input.contentType);
  if (!read.ok) return read;
  const { timestamp, token, signature } = read.value;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return { ok: false, why: 'signature.timestamp is missing or not a number of seconds' };
  if (!token || token.length > 200) return { ok: false, why: 'signature.token is missing or too long' };
  if (!signature || !/^[0-9a-f]{64}$/i.test(signature)) return { ok: false, why: 'signature.signature is missing or not 64 hex digits' };
  const expected = Buffer.from(mailgunSignature(input.signingKey, timestamp, token), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return { ok: false, why: 'the signature does not match the webhook signing key' };
  const skew = Math.abs(input.now - Number(timestamp) * 1000);
  if (skew > MAILGUN_FRESHNESS_MS) return { ok: false, why: `the signature's timestamp is ${Math.round(skew / 60_000)} minutes from now (at most ${MAILGUN_FRESHNESS_MS / 60_000} allowed)` };
  return { ok: true, value: { token, format: read.value.format, eventData: read.value.eventData } };
}

type SignedBody = { format: 'json' | 'legacy'; timestamp: string | null; token: string | null; signature: string | null; eventData: unknown };

function readSignedBody(body: Buffer, contentType: string | undefined): Verification<SignedBody> {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase().slice(0, 100);
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(body.toString('utf8'));
    return { ok: true, value: { format: 'legacy', timestamp: form.get('timestamp'), token: form.get('token'), signature: form.get('signature'), eventData: Object.fromEntries(form) } };
  }
  if (type !== '' && type !== 'application/json') return { ok: false, why: `a ${type} body carries no readable Mailgun signature; Mailgun's webhooks send application/json` };
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, why: 'the body is not JSON, so it carries no Mailgun signature' };
  }
  const sig = objectOf(objectOf(json)?.signature);
  if (!sig) return { ok: false, why: 'the body has no "signature" object' };
  const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' && Number.isInteger(v) ? String(v) : null);
  return { ok: true, value: { format: 'json', timestamp: str(sig.timestamp), token: str(sig.token), signature: str(sig.signature), eventData: objectOf(json)?.['event-data'] } };
}

// Events that say nothing Chapar acts on: Mailgun took the message, or stored an inbound one.
const IGNORED = new Set(['accepted', 'stored']);

/** Turns one verified `event-data` into a feedback event, an unmatched item, or nothing (routine events). */
export function readMailgunEvent(eventData: unknown, now: number): WebhookReading {
  const reading = emptyReading();
  const e = objectOf(eventData);
  if (!e) {
    reading.unmatched.push({ source: 'mailgun', why: 'the webhook has no "event-data" object', raw: excerptOf(eventData ?? null) });
    return reading;
  }
  const id = textOf(e.id, 200);
  const type = textOf(e.event, 64);
  const raw = excerptOf(e);
  if (type !== null && IGNORED.has(type)) {
    reading.ignored++;
    return reading;
  }
  const base = { source: 'mailgun' as const, sourceEventId: id, locator: locatorOf(e), occurredAt: secondsToMs(e.timestamp, now), raw };
  const event = eventOf(e, type, base);
  if (typeof event === 'string') reading.unmatched.push({ source: 'mailgun', sourceEventId: id, type, why: event, raw });
  else reading.events.push(event);
  return reading;
}

type Base = Pick<FeedbackEvent, 'source' | 'sourceEventId' | 'locator' | 'occurredAt' | 'raw'>;

// One event, or why it cannot be one.
function eventOf(e: Record<string, unknown>, type: string | null, base: Base): FeedbackEvent | string {
  const client = objectOf(e['client-info']);
  const who = { ip: textOf(e.ip, 64), userAgent: textOf(client?.['user-agent'], 512) };
  switch (type) {
    case 'delivered':
      return { ...base, type: 'delivered' };
    case 'failed':
      return failureOf(e, base);
    case 'opened':
      return { ...base, type: 'opened', ...who };
    case 'clicked':
      return { ...base, type: 'clicked', url: textOf(e.url, 2048), ...who };
    case 'complained':
      return { ...base, type: 'complained', complaint: { kind: 'abuse', userAgent: null } };
    case 'unsubscribed':
      // Mailgun's own unsubscribe link stops all mail from the domain, not one topic.
      return { ...base, type: 'unsubscribed', unsubscribeAll: true, ...who };
    case 'rejected': {
      const reject = objectOf(e.reject);
      return `Mailgun rejected the message before sending it: ${textOf(reject?.reason, 300) ?? textOf(reject?.description, 300) ?? 'no reason given'}`;
    }
    case null:
      return 'the event has no "event" type';
    default:
      return `unknown Mailgun event type "${type}"`;
  }
}

// Mailgun's own reasons that name the address (it kept the message back because of an earlier failure).
const ADDRESS_REASONS: Record<string, 'user_unknown' | 'expired' | null> = { 'suppress-bounce': 'user_unknown', old: 'expired' };

function failureOf(e: Record<string, unknown>, base: Base): FeedbackEvent | string {
  const severity = textOf(e.severity, 20);
  if (severity !== 'permanent' && severity !== 'temporary') return `a "failed" event with severity "${severity ?? '(none)'}" (expected permanent or temporary)`;
  const permanent = severity === 'permanent';
  const status = objectOf(e['delivery-status']);
  const reason = textOf(e.reason, 64);
  // Held back because the address unsubscribed or complained at Mailgun: not a bounce, and the
  // unsubscribe or complaint itself came (or should have come) as its own event.
  if (reason === 'suppress-unsubscribe' || reason === 'suppress-complaint') return `Mailgun did not send: the address is on Mailgun's ${reason.slice(9)} list`;
  const verdict = espBounceVerdict(
    {
      status: textOf(status?.['enhanced-code'], 20),
      smtpCode: integerOf(status?.code),
      diagnostic: textOf(status?.message, 1000) ?? textOf(status?.description, 1000) ?? (reason ? `Mailgun: ${reason}` : null),
    },
    { permanent, reason: reason ? (ADDRESS_REASONS[reason] ?? null) : null },
  );
  return { ...base, type: failureType(verdict, permanent), bounce: verdict };
}

function locatorOf(e: Record<string, unknown>): MessageLocator {
  const vars = objectOf(e['user-variables']);
  const headers = objectOf(objectOf(e.message)?.headers);
  const messageId = textOf(headers?.['message-id'], 998);
  // The provider id is stored without angle brackets, as events show it; strip them if present.
  const providerId = messageId?.replace(/^<|>$/g, '') ?? null;
  return { messageRef: textOf(vars?.[MESSAGE_REF_LABEL], 100), providerMessageId: providerId, messageId, recipient: textOf(e.recipient, 320) };
}
