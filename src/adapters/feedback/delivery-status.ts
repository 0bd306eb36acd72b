import { addressOfField, parseFieldGroups, type FieldBlock } from './header-fields.ts';

// The machine-readable part of a DSN (RFC 3464 §2.2-2.3, message/delivery-status): one group of
// per-message fields, then one group per recipient.

/** One recipient's fields from a DSN. */
export interface DsnRecipient {
  /** Original-Recipient (the address the sender gave) when it is an rfc822 address, else null. */
  originalRecipient: string | null;
  finalRecipient: string | null;
  /** Action, lower-cased (`failed`, `delayed`, `delivered`, `relayed`, `expanded`, or anything a server wrote). */
  action: string | null;
  status: string | null;
  /** Diagnostic-Code without its type (`smtp; 550 …` → `550 …`). */
  diagnostic: string | null;
  /** The type of the Diagnostic-Code (`smtp`, `x-unix`, …). */
  diagnosticType: string | null;
  remoteMta: string | null;
}

/** A parsed delivery-status part. */
export interface DeliveryStatus {
  /** The per-message fields (Reporting-MTA, X-Postfix-Sender, Arrival-Date …). */
  message: FieldBlock | null;
  recipients: DsnRecipient[];
}

/**
 * Reads a message/delivery-status body. A group is a recipient's when it has Final-Recipient,
 * Original-Recipient or Action (some servers put Action before Final-Recipient, some drop one of
 * them); the first group without those is the per-message group.
 */
export function parseDeliveryStatus(text: string): DeliveryStatus {
  let message: FieldBlock | null = null;
  const recipients: DsnRecipient[] = [];
  for (const group of parseFieldGroups(text)) {
    const isRecipient = group.get('Final-Recipient') !== null || group.get('Original-Recipient') !== null || group.get('Action') !== null;
    if (!isRecipient) {
      message ??= group;
      continue;
    }
    const diag = typedValue(group.get('Diagnostic-Code'));
    recipients.push({
      originalRecipient: addressOfField(group.get('Original-Recipient')),
      finalRecipient: addressOfField(group.get('Final-Recipient')),
      action: group.get('Action')?.split(/[\s(;]/)[0]?.toLowerCase() ?? null,
      status: /^\s*([245]\.\d{1,3}\.\d{1,3})/.exec(group.get('Status') ?? '')?.[1] ?? null,
      diagnostic: diag.value,
      diagnosticType: diag.type,
      remoteMta: typedValue(group.get('Remote-MTA')).value,
    });
  }
  return { message, recipients };
}

/** `smtp; 550 …` → type `smtp`, value `550 …`; a value without a type is kept whole. */
function typedValue(value: string | null): { type: string | null; value: string | null } {
  if (!value) return { type: null, value: null };
  const m = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*;\s*([\s\S]*)$/.exec(value);
  if (!m) return { type: null, value: value.trim() || null };
  return { type: m[1]!.toLowerCase(), value: m[2]!.trim() || null };
}
