// Joins mail.log lines into feedback: cleanup's `message-id=` line names the queue id of one of
// our messages, and every later delivery line with that queue id is news about it. Pure: the
// queue ids already known come in, the events and the changes to remember go out.

import { classifyBounce, classOf } from '../../domain/bounce-classification.ts';
import type { FeedbackEvent } from '../../domain/feedback.ts';
import type { MaillogLine } from './maillog-parser.ts';

/** A queue id known to carry one of our messages: its Message-ID and when cleanup logged it. */
export interface QueueEntry {
  messageId: string;
  seenAt: number;
}

/** One line as read and as parsed. */
export interface ParsedMaillogLine {
  raw: string;
  parsed: MaillogLine;
}

/** What a run of lines amounts to. */
export interface Correlation {
  events: FeedbackEvent[];
  /** Lines about our mail (its message-id, delivery, expiry and removal lines). */
  ours: number;
  /** Queue ids to remember (new or replaced) and to forget, after these lines. */
  upserts: Map<string, QueueEntry>;
  deletes: Set<string>;
}

/** How long a queue id stays ours after its message-id line: Postfix gives up after 5 days by default. */
export const DEFAULT_QUEUE_WINDOW_MS = 7 * 24 * 3600_000;

// Log clocks and our year guess for classic prefixes can be a little off; a status line may not
// precede its message-id line by more than this.
const CLOCK_SLACK_MS = 24 * 3600_000;
const RAW_LIMIT = 1000;

/**
 * The ref inside one of our Message-IDs (`<ref@sending-domain>`, see composeMessage), or null for
 * anyone else's. The ref is newMessageRef's shape: the creation time in base 36, then 16 hex digits.
 * Checking the shape keeps the table free of the other mail a mail.log is mostly about.
 */
export function ourMessageRef(messageId: string, at: number): string | null {
  const m = /^<([0-9a-z]{17,40})@[^<>@\s]+>$/.exec(messageId);
  if (!m || !/[0-9a-f]{16}$/.test(m[1]!)) return null;
  const created = parseInt(m[1]!.slice(0, -16), 36);
  return created >= Date.UTC(2020, 0, 1) && created <= at + CLOCK_SLACK_MS ? m[1]! : null;
}

/** The queue ids a run of lines mentions: the ones to look up before correlating it. */
export function queueIdsOf(lines: readonly ParsedMaillogLine[]): string[] {
  const ids = new Set<string>();
  for (const { parsed } of lines) if (parsed.kind !== 'other') ids.add(parsed.queueId);
  return [...ids];
}

/**
 * Turns lines (in log order) into feedback events for our messages. `known` holds what is stored
 * for the queue ids the lines mention; lines for other queue ids are other mail and are skipped.
 */
export function correlateMaillog(lines: readonly ParsedMaillogLine[], known: ReadonlyMap<string, QueueEntry>, windowMs = DEFAULT_QUEUE_WINDOW_MS): Correlation {
  const state = new Map(known);
  const touched = new Set<string>();
  const events: FeedbackEvent[] = [];
  let ours = 0;
  const forget = (queueId: string) => {
    if (state.delete(queueId)) touched.add(queueId);
  };

  for (const { raw, parsed: line } of lines) {
    if (line.kind === 'other') continue;
    if (line.kind === 'message_id') {
      if (ourMessageRef(line.messageId, line.at)) {
        state.set(line.queueId, { messageId: line.messageId, seenAt: line.at });
        touched.add(line.queueId);
        ours++;
      } else forget(line.queueId); // a short queue id reused by other mail
      continue;
    }
    const entry = state.get(line.queueId);
    if (!entry) continue;
    if (line.at < entry.seenAt - CLOCK_SLACK_MS || line.at - entry.seenAt > windowMs) {
      // The same short queue id, long after: another message whose message-id line we missed.
      forget(line.queueId);
      continue;
    }
    ours++;
    if (line.kind === 'removed') {
      forget(line.queueId);
      continue;
    }
    const event = eventFor(line, entry, raw);
    if (event) events.push(event);
  }

  const upserts = new Map<string, QueueEntry>();
  const deletes = new Set<string>();
  for (const id of touched) {
    const entry = state.get(id);
    if (entry) upserts.set(id, entry);
    else if (known.has(id)) deletes.add(id);
  }
  return { events, ours, upserts, deletes };
}

function eventFor(line: Extract<MaillogLine, { kind: 'delivery' | 'expired' }>, entry: QueueEntry, raw: string): FeedbackEvent | null {
  const messageRef = ourMessageRef(entry.messageId, entry.seenAt);
  const time = new Date(line.at).toISOString();
  const base = { source: 'maillog' as const, occurredAt: line.at, raw: raw.slice(0, RAW_LIMIT) };
  if (line.kind === 'expired') {
    const diagnostic = `${line.forced ? 'force-expired' : 'expired'} in the Postfix queue, returned to sender`;
    return {
      ...base,
      sourceEventId: `${line.queueId}/expired/${time}`,
      type: 'bounced',
      locator: { messageRef, messageId: entry.messageId },
      bounce: { reason: 'expired', class: classOf('expired', true), status: null, diagnostic },
    };
  }
  // orig_to is the address as we sent it, when aliasing rewrote it.
  const recipient = line.origTo ?? line.to;
  const common = { ...base, sourceEventId: `${line.queueId}/${recipient}/${line.status}/${time}`, locator: { messageRef, messageId: entry.messageId, recipient } };
  const facts = { status: line.dsn, smtpCode: replyCode(line.reason), diagnostic: line.reason };
  switch (line.status) {
    case 'sent':
      // Handed to a content filter on this host (amavis, a milter proxy): it comes back under a new queue id.
      return isLoopbackRelay(line.relay) ? null : { ...common, type: 'delivered' };
    case 'deferred':
    case 'softbounce':
      return { ...common, type: 'deferred', bounce: classifyBounce({ ...facts, action: 'delayed' }) };
    case 'bounced':
      return { ...common, type: 'bounced', bounce: classifyBounce({ ...facts, action: 'failed' }) };
    case 'deliverable':
    case 'undeliverable':
      return null; // address verification probes, not deliveries
  }
}

// Postfix quotes the remote reply after "said: "; its own texts carry no code.
function replyCode(reason: string): number | null {
  const m = /\bsaid: ([245]\d\d)[ -]/.exec(reason) ?? /^([245]\d\d)[ -]/.exec(reason);
  return m ? Number(m[1]) : null;
}

function isLoopbackRelay(relay: string | null): boolean {
  return relay !== null && /\[(127\.\d+\.\d+\.\d+|::1|ipv6:::1)\](:\d+)?$/i.test(relay);
}
