import type { BounceReason, ComplaintKind, FeedbackEvent, MessageLocator } from '../../domain/feedback.ts';
import { MESSAGE_REF_LABEL } from '../transports/esp-labels.ts';
import { espBounceVerdict, failureType, type EspBounceSays } from './esp-bounces.ts';
import { emptyReading, excerptOf, isoToMs, objectOf, textOf, type WebhookReading } from './webhook-reading.ts';

// Amazon SES notifications (formats.md §4.3), as SNS carries them: identity notifications name
// their kind in `notificationType`, configuration-set event publishing in `eventType`. One
// notification may cover several recipients; each becomes its own event.

const COMPLAINT_KINDS: readonly ComplaintKind[] = ['abuse', 'fraud', 'virus', 'auth-failure', 'not-spam', 'other'];

// SES's bounce sub-types that say more than a diagnostic might.
const SUB_TYPES: Record<string, BounceReason> = {
  NoEmail: 'user_unknown',
  MailboxFull: 'mailbox_full',
  MessageTooLarge: 'message_too_large',
  ContentRejected: 'policy_block',
  AttachmentRejected: 'policy_block',
};

// Most recipients one notification is read for: SES sends one per message, and ours have one recipient.
const MAX_RECIPIENTS = 100;

/**
 * Turns one SES notification (the SNS `Message`, as text or already parsed) into events. Each
 * event's source id is `eventKey:recipient`, where eventKey is the SNS MessageId; without one
 * (raw delivery lacking the header) it is built from the notification's own ids.
 */
export function readSesNotification(message: string | Record<string, unknown>, eventKey: string | null, now: number): WebhookReading {
  const reading = emptyReading();
  let parsed: unknown = message;
  if (typeof message === 'string') {
    try {
      parsed = JSON.parse(message);
    } catch {
      reading.unmatched.push({ source: 'ses', sourceEventId: eventKey, why: 'the SNS message is not JSON, so not an SES notification', raw: excerptOf(message) });
      return reading;
    }
  }
  const n = objectOf(parsed);
  const mail = objectOf(n?.mail);
  const type = textOf(n?.notificationType, 64) ?? textOf(n?.eventType, 64);
  const raw = excerptOf(parsed);
  if (!n || !mail || !type) {
    reading.unmatched.push({ source: 'ses', sourceEventId: eventKey, type, why: 'the SNS message is not an SES notification (no notificationType or eventType, or no mail)', raw });
    return reading;
  }
  const detail = objectOf(n[detailKey(type)]) ?? {};
  const key = eventKey ?? `${type}:${textOf(mail.messageId, 200) ?? '?'}:${textOf(detail.feedbackId, 200) ?? textOf(mail.timestamp, 40) ?? ''}`;
  const locator = locatorOf(mail);
  const base = (recipient: string | null, at: unknown) => ({ source: 'ses' as const, sourceEventId: `${key}:${recipient ?? ''}`, locator: { ...locator, recipient }, occurredAt: isoToMs(at, isoToMs(mail.timestamp, now)), raw });
  const unmatched = (why: string) => reading.unmatched.push({ source: 'ses', sourceEventId: key, type, why, raw });

  switch (type) {
    case 'Bounce': {
      const bounceType = textOf(detail.bounceType, 40);
      const subType = textOf(detail.bounceSubType, 60);
      const says: EspBounceSays = { permanent: bounceType === 'Permanent', reason: SUB_TYPES[subType ?? ''] ?? null, hardWhenUnclear: bounceType === 'Permanent' };
      for (const r of listOf(detail.bouncedRecipients)) {
        const bounce = espBounceVerdict({ status: textOf(r.status, 20), diagnostic: textOf(r.diagnosticCode, 1000), action: textOf(r.action, 20) }, says);
        reading.events.push({ ...base(textOf(r.emailAddress, 320), detail.timestamp), type: failureType(bounce, true), bounce });
      }
      break;
    }
    case 'DeliveryDelay':
      for (const r of listOf(detail.delayedRecipients)) {
        const bounce = espBounceVerdict({ status: textOf(r.status, 20), diagnostic: textOf(r.diagnosticCode, 1000) }, { permanent: false });
        reading.events.push({ ...base(textOf(r.emailAddress, 320), detail.timestamp), type: failureType(bounce, false), bounce });
      }
      break;
    case 'Complaint': {
      const kind = textOf(detail.complaintFeedbackType, 20) as ComplaintKind | null;
      const complaint = { kind: kind && COMPLAINT_KINDS.includes(kind) ? kind : 'abuse', userAgent: textOf(detail.userAgent, 512) };
      for (const r of listOf(detail.complainedRecipients)) reading.events.push({ ...base(textOf(r.emailAddress, 320), detail.timestamp), type: 'complained', complaint });
      break;
    }
    case 'Delivery':
      for (const r of stringsOf(detail.recipients)) reading.events.push({ ...base(r, detail.timestamp), type: 'delivered' });
      break;
    case 'Open':
    case 'Click': {
      const event: FeedbackEvent = { ...base(stringsOf(mail.destination)[0] ?? null, detail.timestamp), type: type === 'Open' ? 'opened' : 'clicked', ip: textOf(detail.ipAddress, 64), userAgent: textOf(detail.userAgent, 512) };
      if (type === 'Click') event.url = textOf(detail.link, 2048);
      reading.events.push(event);
      break;
    }
    case 'Send':
      reading.ignored++;
      break;
    case 'Reject':
      unmatched(`SES rejected the message before sending it: ${textOf(detail.reason, 300) ?? 'no reason given'}`);
      break;
    case 'Rendering Failure':
      unmatched(`SES could not render the message: ${textOf(detail.errorMessage, 300) ?? 'no reason given'}`);
      break;
    case 'Subscription':
      unmatched("an SES list-management subscription event; Chapar keeps subscriptions itself and does not apply it");
      break;
    default:
      unmatched(`unknown SES notification type "${type}"`);
  }
  if (reading.events.length === 0 && reading.unmatched.length === 0 && reading.ignored === 0) unmatched(`an SES ${type} notification that names no recipient`);
  return reading;
}

/** The key of a notification's detail object: `bounce`, `deliveryDelay`, `renderingFailure`… */
function detailKey(type: string): string {
  const camel = type.replace(/\s+(\w)/g, (_m, c: string) => c.toUpperCase());
  return camel.charAt(0).toLowerCase() + camel.slice(1);
}

function listOf(v: unknown): Record<string, unknown>[] {
  const items: unknown[] = Array.isArray(v) ? v.slice(0, MAX_RECIPIENTS) : [];
  return items.map(objectOf).filter((o): o is Record<string, unknown> => o !== undefined);
}

function stringsOf(v: unknown): string[] {
  const items: unknown[] = Array.isArray(v) ? v.slice(0, MAX_RECIPIENTS) : [];
  return items.map((x) => textOf(x, 320)).filter((t): t is string => t !== null);
}

function locatorOf(mail: Record<string, unknown>): Omit<MessageLocator, 'recipient'> {
  // Tags come back as {"name": ["value"]}, and only through event publishing.
  const tag = objectOf(mail.tags)?.[MESSAGE_REF_LABEL];
  const header = Array.isArray(mail.headers) ? mail.headers.map((h) => objectOf(h)).find((h) => typeof h?.name === 'string' && h.name.toLowerCase() === 'message-id') : undefined;
  return {
    messageRef: textOf(Array.isArray(tag) ? tag[0] : tag, 100),
    providerMessageId: textOf(mail.messageId, 200),
    messageId: textOf(header?.value, 998),
  };
}
