import { inTransaction, type Db } from '../db/database.ts';
import { insertEventOnce } from '../db/queries/events.ts';
import { deleteSoftBounces, insertUnmatchedFeedback, recordLateOutcome, selectMessageRefByProviderId, selectSoftBounceTimes, upsertSoftBounceTimes } from '../db/queries/feedback.ts';
import { selectMessageByRef, type MessageRow } from '../db/queries/messages.ts';
import { selectTopics } from '../db/queries/topics.ts';
import { insertSuppression } from '../db/queries/suppressions.ts';
import { normalizeEmail } from '../domain/emails.ts';
import { DEFAULT_SOFT_BOUNCE_POLICY, countSoftBounce, type FeedbackEvent, type MessageLocator, type SoftBouncePolicy, type UnmatchedFeedback } from '../domain/feedback.ts';
import { detectMachine } from '../domain/machine-hits.ts';
import type { SuppressionReason } from '../domain/suppressions.ts';
import type { ServiceContext } from './context.ts';
import { applySubscriptionChanges } from './subscriptions.ts';
import { suppressionHash } from './suppressions.ts';

/** What became of one feedback event. */
export interface FeedbackResult {
  /** applied: stored and acted on; duplicate: its source id was seen before; unmatched: kept for inspection. */
  status: 'applied' | 'duplicate' | 'unmatched';
  messageRef: string | null;
}


export interface FeedbackOptions {
  softBounces?: SoftBouncePolicy;
}

// Raw references and diagnostics are kept short: enough to recognise what arrived, never a whole message.
const RAW_LIMIT = 1000;
const TEXT_LIMIT = 500;

/**
 * Stores each event once (by source and source id), finds its message and contact, and applies
 * what it means: suppression, soft-bounce counting, message status, unsubscribes, the consent log.
 * Each event is its own transaction, so one bad event never undoes another.
 */
export async function recordFeedback(ctx: ServiceContext, events: readonly FeedbackEvent[], opts: FeedbackOptions = {}): Promise<FeedbackResult[]> {
  const results: FeedbackResult[] = [];
  const policy = opts.softBounces ?? ctx.softBounces ?? DEFAULT_SOFT_BOUNCE_POLICY;
  for (const e of events) results.push(await recordOne(ctx, e, policy));
  return results;
}

/** Keeps feedback that matched nothing or could not be read. A repeat (same source id) is kept once. */
export async function recordUnmatched(ctx: ServiceContext, u: UnmatchedFeedback): Promise<void> {
  await insertUnmatchedFeedback(ctx.db, {
    source: u.source,
    sourceEventId: u.sourceEventId ?? null,
    type: u.type ?? null,
    why: u.why.slice(0, TEXT_LIMIT),
    detail: u.detail ?? {},
    raw: u.raw?.slice(0, RAW_LIMIT) ?? null,
    receivedAt: ctx.clock.now(),
  });
}

async function recordOne(ctx: ServiceContext, e: FeedbackEvent, policy: SoftBouncePolicy): Promise<FeedbackResult> {
  const found = await locateMessage(ctx.db, e.locator);
  const miss = found ? wrongRecipient(e, found) : describeMiss(e.locator);
  const message = miss ? undefined : found;
  if (!message) {
    const created = await insertUnmatchedFeedback(ctx.db, {
      source: e.source,
      sourceEventId: e.sourceEventId,
      type: e.type,
      why: miss!,
      detail: { locator: e.locator, ...detailOf(e) },
      raw: e.raw?.slice(0, RAW_LIMIT) ?? null,
      receivedAt: ctx.clock.now(),
    });
    return { status: created ? 'unmatched' : 'duplicate', messageRef: null };
  }
  return inTransaction(ctx.db, async (tx) => {
    const machine = e.type === 'opened' || e.type === 'clicked' ? detectMachine({ kind: e.type, ip: e.ip ?? null, userAgent: e.userAgent ?? null, msSinceSend: message.sentAt === null ? null : e.occurredAt - message.sentAt }) : null;
    const id = await insertEventOnce(tx, {
      type: e.type === 'unsubscribed' ? 'unsubscribed' : `email_${e.type}`,
      contactId: message.contactId,
      messageRef: message.ref,
      properties: detailOf(e),
      ip: e.ip ?? null,
      userAgent: e.userAgent?.slice(0, 512) ?? null,
      occurredAt: e.occurredAt,
      source: e.source,
      sourceEventId: e.sourceEventId,
      reason: e.bounce?.reason ?? e.complaint?.kind ?? null,
      machine,
    });
    if (id === null) return { status: 'duplicate', messageRef: message.ref };
    await applyEffect(ctx, tx, e, message, policy);
    return { status: 'applied', messageRef: message.ref };
  });
}

/**
 * Mail to the bounce address is unauthenticated: when a bounce found its message only by the
 * Message-ID it quotes (not by our signed VERP address), anyone holding a copy of the message could
 * forge one. Such a bounce must at least name the address the message went to.
 */
function wrongRecipient(e: FeedbackEvent, m: MessageRow): string | null {
  if (e.source !== 'bounce_receiver' || e.locator.messageRef || !e.locator.recipient) return null;
  return e.locator.recipient.trim().toLowerCase() === m.toEmail.toLowerCase() ? null : `it names ${e.locator.recipient}, not the address message ${m.ref} went to, and carries no signed VERP address`;
}

/** Our ref first (VERP, ESP tag), then the provider's id, then our Message-ID header (`<ref@domain>`). */
async function locateMessage(db: Db, l: MessageLocator): Promise<MessageRow | undefined> {
  if (l.messageRef) {
    const m = await selectMessageByRef(db, l.messageRef);
    if (m) return m;
  }
  if (l.providerMessageId) {
    const ref = await selectMessageRefByProviderId(db, l.providerMessageId);
    if (ref) return selectMessageByRef(db, ref);
  }
  const fromHeader = refOfMessageId(l.messageId);
  return fromHeader ? selectMessageByRef(db, fromHeader) : undefined;
}

/** The ref in a Message-ID we wrote (`<ref@sending-domain>`), or null for anyone else's. */
export function refOfMessageId(messageId: string | null | undefined): string | null {
  const m = /^<?([a-z0-9]{8,40})@[^@<>\s]+>?$/.exec(messageId?.trim().toLowerCase() ?? '');
  return m ? m[1]! : null;
}

function describeMiss(l: MessageLocator): string {
  const tried = [l.messageRef && `ref ${l.messageRef}`, l.providerMessageId && `provider id ${l.providerMessageId}`, l.messageId && `Message-ID ${l.messageId}`].filter(Boolean);
  return tried.length === 0 ? 'it names no message (no VERP address, provider id or Message-ID)' : `no message matches ${tried.join(', ')}`;
}

function detailOf(e: FeedbackEvent): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  if (e.bounce) {
    d.class = e.bounce.class;
    if (e.bounce.status) d.status = e.bounce.status;
    if (e.bounce.diagnostic) d.diagnostic = e.bounce.diagnostic.slice(0, TEXT_LIMIT);
  }
  if (e.complaint) d.complaint = e.complaint;
  if (e.url) d.url = e.url.slice(0, 2048);
  if (e.unsubscribeAll !== undefined) d.all = e.unsubscribeAll;
  if (e.locator.recipient) d.recipient = e.locator.recipient;
  if (e.raw) d.raw = e.raw.slice(0, TEXT_LIMIT);
  return d;
}

async function applyEffect(ctx: ServiceContext, tx: Db, e: FeedbackEvent, m: MessageRow, policy: SoftBouncePolicy): Promise<void> {
  const now = ctx.clock.now();
  const hash = addressHash(ctx, m.toEmail);
  const history = { messageId: m.id, code: null, enhanced: e.bounce?.status ?? null, response: e.bounce?.diagnostic?.slice(0, TEXT_LIMIT) ?? null, at: now };
  switch (e.type) {
    case 'delivered':
      await deleteSoftBounces(tx, hash);
      await recordLateOutcome(tx, { ...history, status: 'delivered', overwritable: [], reason: null });
      return;
    case 'deferred':
      await recordLateOutcome(tx, { ...history, status: 'deferred', overwritable: [], reason: null });
      return;
    case 'bounced': {
      const b = e.bounce ?? { reason: 'other', class: 'soft', status: null, diagnostic: null };
      const kind = b.class === 'hard' ? 'hard_bounce' : b.class === 'soft' ? 'soft_bounce' : 'policy_block';
      // A hard bounce may sharpen an earlier soft verdict; nothing overwrites a complaint.
      const overwritable = b.class === 'hard' ? ['sent', 'deferred', 'bounced'] : ['sent', 'deferred'];
      await recordLateOutcome(tx, { ...history, status: 'bounced', overwritable, reason: `${kind}: ${b.reason}${b.status ? ` (${b.status})` : ''}` });
      if (b.class === 'hard') {
        await suppress(tx, m, hash, 'hard_bounce', e, now);
      } else if (b.class === 'soft') {
        const counted = countSoftBounce(await selectSoftBounceTimes(tx, hash), e.occurredAt, policy);
        await upsertSoftBounceTimes(tx, hash, counted.times, now);
        if (counted.suppress) await suppress(tx, m, hash, 'soft_bounce', e, now);
      } else {
        // Policy and reputation refusals are ours to fix (authentication, blocklists, content):
        // the recipient keeps their mail, and the operator hears of it.
        ctx.logger.warn({ messageRef: m.ref, transport: m.transport, reason: b.reason, status: b.status }, 'a receiver refused mail for policy or reputation');
      }
      return;
    }
    case 'complained':
      // An ARF auth-failure report (a DMARC or DKIM failure report) or a not-spam report is not the
      // reader asking to stop: it is kept as an event, and the reader keeps their mail.
      if (e.complaint?.kind === 'auth-failure' || e.complaint?.kind === 'not-spam') return;
      await recordLateOutcome(tx, { ...history, status: 'complained', overwritable: ['sent', 'deferred', 'bounced', 'failed'], reason: `complaint: ${e.complaint?.kind ?? 'abuse'}` });
      await suppress(tx, m, hash, 'complaint', e, now);
      await unsubscribeContact(tx, m, null, 'complaint', now);
      return;
    case 'unsubscribed':
      await unsubscribeContact(tx, m, e.unsubscribeAll ? null : m.topicKey, 'esp_unsubscribe', now);
      if (e.unsubscribeAll || m.topicKey === null) await suppress(tx, m, hash, 'unsubscribe_all', e, now);
      return;
    case 'opened':
    case 'clicked':
    case 'auto_reply':
      return;
  }
}

async function suppress(tx: Db, m: MessageRow, hash: string, reason: SuppressionReason, e: FeedbackEvent, now: number): Promise<void> {
  const note = [e.bounce?.reason, e.bounce?.status, e.complaint?.kind, `message ${m.ref}`].filter(Boolean).join(' ');
  await insertSuppression(tx, { email: m.toEmail, emailHash: hash, reason, source: e.source, note }, now);
}

/** Unsubscribes the message's contact from one topic, or every topic when `topicKey` is null; each change is logged. */
async function unsubscribeContact(tx: Db, m: MessageRow, topicKey: string | null, source: 'complaint' | 'esp_unsubscribe', now: number): Promise<void> {
  if (m.contactId === null) return;
  const topics = (await selectTopics(tx)).filter((t) => topicKey === null || t.key === topicKey);
  await applySubscriptionChanges(tx, topics.map((topic) => ({ contactId: m.contactId!, email: m.toEmail, topic, status: 'unsubscribed', evidence: { source } })), now);
}

function addressHash(ctx: ServiceContext, email: string): string {
  const n = normalizeEmail(email);
  return suppressionHash(ctx.keyring, n.ok ? n.value.key : email.toLowerCase());
}
