import { verify, type KeyObject } from 'node:crypto';
import type { BounceReason, FeedbackEvent, MessageLocator } from '../../domain/feedback.ts';
import { MESSAGE_REF_LABEL } from '../transports/esp-labels.ts';
import { espBounceVerdict, failureType } from './esp-bounces.ts';
import { emptyReading, excerptOf, objectOf, secondsToMs, textOf, type Verification, type WebhookReading } from './webhook-reading.ts';

// SendGrid's Event Webhook (formats.md §4.2): a JSON array of events, signed with ECDSA P-256 /
// SHA-256 over the timestamp header followed by the raw body, the signature in base64 DER.

/** The request header that carries the base64 DER signature. */
export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
/** The request header that carries the signed timestamp (prefixed to the body before signing). */
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/**
 * Checks the ECDSA signature of `timestamp + body` against the account's webhook public key.
 * No freshness window: SendGrid does not document one, and a replayed batch is harmless because
 * every event is stored once by its `sg_event_id`.
 */
export function verifySendGridWebhook(input: { body: Buffer; signature: string | undefined; timestamp: string | undefined; publicKey: KeyObject }): Verification<Buffer> {
  if (!input.signature) return { ok: false, why: `the ${SENDGRID_SIGNATURE_HEADER} header is missing (turn on the Signed Event Webhook in SendGrid)` };
  if (!input.timestamp) return { ok: false, why: `the ${SENDGRID_TIMESTAMP_HEADER} header is missing` };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(input.signature) || input.signature.length > 200) return { ok: false, why: 'the signature is not base64' };
  let valid: boolean;
  try {
    valid = verify('sha256', Buffer.concat([Buffer.from(input.timestamp, 'utf8'), input.body]), input.publicKey, Buffer.from(input.signature, 'base64'));
  } catch {
    // A malformed DER signature makes OpenSSL throw rather than answer false.
    valid = false;
  }
  return valid ? { ok: true, value: input.body } : { ok: false, why: 'the signature does not match the webhook public key' };
}

// SendGrid's bounce_classification names (2022 and later), where the remote server's words are unclear.
const CLASSIFICATIONS: Record<string, BounceReason> = {
  'Invalid Address': 'user_unknown',
  'Mailbox Unavailable': 'mailbox_full',
  Reputation: 'reputation',
  Content: 'policy_block',
  'Frequency or Volume': 'rate_limited',
};

/** Turns a verified body (one event or an array of them) into feedback events and unmatched items. */
export function readSendGridEvents(body: Buffer, now: number): WebhookReading {
  const reading = emptyReading();
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    reading.unmatched.push({ source: 'sendgrid', why: 'the body is not JSON', raw: excerptOf(body.toString('utf8')) });
    return reading;
  }
  const items = Array.isArray(json) ? json : [json];
  items.forEach((item, i) => {
    const e = objectOf(item);
    if (!e) {
      reading.unmatched.push({ source: 'sendgrid', why: `item ${i} of the batch is not an event object`, raw: excerptOf(item ?? null) });
      return;
    }
    const type = textOf(e.event, 64);
    if (type === 'processed') {
      reading.ignored++;
      return;
    }
    const id = textOf(e.sg_event_id, 200);
    const raw = excerptOf(e);
    const event = eventOf(e, type, { source: 'sendgrid', sourceEventId: id, locator: locatorOf(e), occurredAt: secondsToMs(e.timestamp, now), raw });
    if (typeof event === 'string') reading.unmatched.push({ source: 'sendgrid', sourceEventId: id, type, why: event, raw });
    else reading.events.push(event);
  });
  return reading;
}

type Base = Pick<FeedbackEvent, 'source' | 'sourceEventId' | 'locator' | 'occurredAt' | 'raw'>;

function eventOf(e: Record<string, unknown>, type: string | null, base: Base): FeedbackEvent | string {
  const who = { ip: textOf(e.ip, 64), userAgent: textOf(e.useragent, 512) };
  switch (type) {
    case 'delivered':
      return { ...base, type: 'delivered' };
    case 'deferred': {
      const bounce = espBounceVerdict({ diagnostic: textOf(e.response, 1000) }, { permanent: false });
      return { ...base, type: failureType(bounce, false), bounce };
    }
    case 'bounce': {
      // `bounce` is a permanent refusal (SendGrid lists the address); `blocked` a refusal of this message.
      const permanent = textOf(e.type, 20) !== 'blocked';
      const hint = CLASSIFICATIONS[textOf(e.bounce_classification, 64) ?? ''] ?? null;
      const bounce = espBounceVerdict({ status: textOf(e.status, 20), diagnostic: textOf(e.reason, 1000) }, { permanent, reason: hint, hardWhenUnclear: permanent });
      return { ...base, type: failureType(bounce, true), bounce };
    }
    case 'open':
      return { ...base, type: 'opened', ...who };
    case 'click':
      return { ...base, type: 'clicked', url: textOf(e.url, 2048), ...who };
    case 'spamreport':
      return { ...base, type: 'complained', complaint: { kind: 'abuse', userAgent: null } };
    case 'unsubscribe':
      return { ...base, type: 'unsubscribed', unsubscribeAll: true, ...who };
    case 'group_unsubscribe':
      // An unsubscribe group is the nearest thing SendGrid has to a topic: the message's topic only.
      return { ...base, type: 'unsubscribed', unsubscribeAll: false, ...who };
    case 'dropped':
      return `SendGrid dropped the message without sending it: ${textOf(e.reason, 300) ?? 'no reason given'}`;
    case 'group_resubscribe':
      return "a resubscribe on SendGrid's preference page; Chapar keeps subscriptions itself and does not apply it";
    case null:
      return 'the event has no "event" type';
    default:
      return `unknown SendGrid event type "${type}"`;
  }
}

function locatorOf(e: Record<string, unknown>): MessageLocator {
  // sg_message_id is the X-Message-Id we stored, followed by `.filter…`.
  const sgId = textOf(e.sg_message_id, 300);
  return {
    messageRef: textOf(e[MESSAGE_REF_LABEL], 100),
    providerMessageId: sgId ? sgId.split('.')[0]! : null,
    messageId: textOf(e['smtp-id'], 998),
    recipient: textOf(e.email, 320),
  };
}
