import { createHash } from 'node:crypto';
import { classifyBounce } from '../../domain/bounce-classification.ts';
import type { FeedbackEvent, MessageLocator } from '../../domain/feedback.ts';
import { autoReplyEvidence } from './auto-replies.ts';
import { parseDeliveryStatus, type DsnRecipient } from './delivery-status.ts';
import { parseFeedbackReport, unredacted } from './feedback-report.ts';
import { decodeEncodedWords, FieldBlock, firstAddressIn, messageIdIn, parseHeaderBlock } from './header-fields.ts';
import { decodedBody, headerTextOf, readMime, textOf, type MimePart } from './mime-parts.ts';
import { looksLikeTextBounce, readTextBounce, type TextBounceRecipient } from './text-bounces.ts';

// Turns one message received at the bounce domain into feedback events: a DSN (RFC 3464) gives one
// event per failed or delayed recipient, an ARF report (RFC 5965) one complaint, a text bounce
// (qmail, old Exim/Sendmail/Exchange) one event per address it names, an auto-reply one
// `auto_reply` (never a bounce). Pure apart from hashing: the caller stores what comes back.

/** What kind of mail it was. */
export type FeedbackMailKind = 'dsn' | 'arf' | 'auto_reply' | 'unrecognised';

/** The events read from one message, and what could not be read (for the unmatched record). */
export interface ParsedFeedbackMail {
  kind: FeedbackMailKind;
  events: FeedbackEvent[];
  /** Plain-words problems ("no recipient in the DSN"); empty when all went well. */
  problems: string[];
  /** The report's Message-ID, From and Subject: what an operator needs to find it, never the body. */
  reference: string;
  /** The report's own id: its Message-ID, or a hash of the raw bytes when it has none. */
  reportId: string;
}

export interface FeedbackMailOptions {
  /** The RCPT TO addresses it arrived with: a bounce comes back to the VERP address it was sent from. */
  envelopeTo?: readonly string[];
  /** Our VERP reader (TrackingUrls.readVerp): the message ref of a genuine bounce address, else null. */
  readVerp: (address: string) => string | null;
  receivedAt: number;
}

const DELIVERY_STATUS = new Set(['message/delivery-status', 'message/global-delivery-status']);
const RETURNED = new Set(['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/global-headers', 'message/rfc822-headers']);
const SKIPPED_ACTIONS = new Set(['delivered', 'relayed', 'expanded']);

type MakeEvent = (type: FeedbackEvent['type'], locator: MessageLocator, extra: Partial<FeedbackEvent>, idAddress?: string | null) => FeedbackEvent;

/** Reads one received message. Never throws on bad input: problems are returned instead. */
export function parseFeedbackMail(raw: Buffer, opts: FeedbackMailOptions): ParsedFeedbackMail {
  const reportIdOf = (headers: FieldBlock) => messageIdIn(headers.get('Message-ID'))?.slice(1, -1).slice(0, 200) ?? `sha256:${createHash('sha256').update(raw).digest('hex').slice(0, 32)}`;
  if (raw.length === 0 || raw.toString('latin1', 0, 4096).trim() === '') {
    return { kind: 'unrecognised', events: [], problems: ['the message is empty'], reference: '', reportId: reportIdOf(new FieldBlock()) };
  }
  const tree = readMime(raw);
  const headers = tree.root.headers;
  const subject = headers.get('Subject') ? decodeEncodedWords(headers.get('Subject')!) : null;
  const from = headers.get('From') ? decodeEncodedWords(headers.get('From')!) : null;
  const reportId = reportIdOf(headers);
  const reference = [`Message-ID: ${headers.get('Message-ID') ?? '(none)'}`, `From: ${from ?? '(none)'}`, `Subject: ${subject ?? '(none)'}`].join(' | ').replace(/[\r\n]+/g, ' ').slice(0, 400);
  const problems = tree.problems.map((p) => `MIME: ${p}`);
  const text = bodyText(tree.leaves);

  const returnedPart = tree.leaves.find((p) => RETURNED.has(p.type));
  let returned = returnedPart ? parseHeaderBlock(headerTextOf(decodedBody(returnedPart).toString('latin1'))) : null;
  const dsParts = tree.leaves.filter((p) => DELIVERY_STATUS.has(p.type));
  const frPart = tree.leaves.find((p) => p.type === 'message/feedback-report');
  const ours = (a: string) => /^(mailer-daemon|postmaster|bounces(\+[^@]*)?|unsubscribe\+[^@]*)@/i.test(a) || opts.readVerp(a) !== null;

  // Called once the kind is known: a text bounce's returned copy is found only while reading it.
  // `senders` are further places our VERP address may show (X-Postfix-Sender, ARF Original-Mail-From).
  const locate = (senders: string[] = []): { base: MessageLocator; verpProblem: string | null } => {
    const candidates = [...(opts.envelopeTo ?? []), ...['To', 'Delivered-To', 'X-Original-To', 'Envelope-To'].flatMap((h) => headers.all(h).flatMap(addressesIn)), ...senders.flatMap(addressesIn)];
    if (returned) candidates.push(...['Return-Path', 'Sender'].flatMap((h) => returned!.all(h).flatMap(addressesIn)));
    const ref = candidates.map((a) => opts.readVerp(a)).find((r) => r !== null) ?? null;
    const forged = ref ? undefined : candidates.find((a) => /^bounces\+[a-z0-9]{8,40}-[0-9a-f]{10}@/i.test(a));
    const messageId = messageIdIn(returned?.get('Message-ID')) ?? messageIdIn(headers.get('In-Reply-To')) ?? messageIdIn(headers.get('References')?.split(/\s+/).filter(Boolean).pop());
    return { base: { messageRef: ref, messageId }, verpProblem: forged ? `the VERP address ${forged} does not verify (not signed by this installation)` : null };
  };
  // The id names the report and the address it is about (a DSN's final recipient), so the same
  // report delivered twice is stored once and each recipient group of one report is its own event.
  const event: MakeEvent = (type, locator, extra, idAddress = locator.recipient) => ({
    source: 'bounce_receiver',
    sourceEventId: idAddress ? `${reportId}/${idAddress.toLowerCase()}` : reportId,
    type,
    locator,
    occurredAt: opts.receivedAt,
    raw: reference,
    ...extra,
  });
  const done = (kind: FeedbackMailKind, events: FeedbackEvent[], verpProblem: string | null): ParsedFeedbackMail => ({
    kind,
    events,
    problems: verpProblem && events.every((e) => !e.locator.messageRef) ? [...problems, verpProblem] : problems,
    reference,
    reportId,
  });

  if (frPart) {
    const report = parseFeedbackReport(textOf(frPart));
    const { base, verpProblem } = locate(report.originalMailFrom ? [report.originalMailFrom] : []);
    const recipient = report.recipient ?? unredacted(returned ? firstAddressIn(returned.get('To') ?? '') : null);
    if (!report.feedbackType) problems.push('the feedback report has no Feedback-Type');
    else if (!report.knownType) problems.push(`unknown Feedback-Type "${report.feedbackType.slice(0, 40)}" (not one of RFC 5965, 6430, 6591)`);
    if (!report.knownType) return done('arf', [], verpProblem);
    return done('arf', [event('complained', { ...base, recipient }, { complaint: { kind: report.kind, userAgent: report.userAgent } })], verpProblem);
  }

  if (dsParts.length > 0) {
    const statuses = dsParts.map((p) => parseDeliveryStatus(textOf(p)));
    const senders = statuses.flatMap((s) => s.message?.all('X-Postfix-Sender') ?? []);
    const { base, verpProblem } = locate(senders);
    const recipients = statuses.flatMap((s) => s.recipients);
    if (recipients.length === 0) problems.push('no recipient in the DSN (no Final-Recipient or Action fields)');
    const prose = readTextBounce(text, subject, ours).recipients;
    const events = recipients.flatMap((r) => dsnEvent(r, prose, base, problems, event));
    return done('dsn', onePerRecipient(events), verpProblem);
  }

  const auto = autoReplyEvidence({ header: (n) => headers.get(n), subject, text });
  if (looksLikeTextBounce({ from, subject, text })) {
    const bounce = readTextBounce(text, subject, ours);
    if (!returned && bounce.returnedHeaders) returned = parseHeaderBlock(bounce.returnedHeaders);
    if (bounce.recipients.length > 0 || !auto) {
      const { base, verpProblem } = locate();
      if (bounce.recipients.length === 0) problems.push('a delivery report that names no recipient address');
      const action = bounce.delayed ? 'delayed' : 'failed';
      const events = bounce.recipients.map((r) =>
        event(bounce.delayed ? 'deferred' : 'bounced', { ...base, recipient: r.recipient }, { bounce: classifyBounce({ diagnostic: r.diagnostic, action }) }),
      );
      return done('dsn', events, verpProblem);
    }
  }

  if (auto) {
    const { base, verpProblem } = locate();
    // The person whose responder answered: the auto-reply's From (the address we wrote to, mostly).
    const responder = firstAddressIn(from ?? '');
    const verdict = { reason: 'auto_reply' as const, class: 'none' as const, status: null, diagnostic: auto };
    return done('auto_reply', [event('auto_reply', { ...base, recipient: responder }, { bounce: verdict })], verpProblem);
  }

  problems.push('neither a delivery report (DSN), a feedback report (ARF) nor an auto-reply');
  return done('unrecognised', [], null);
}

/** One DSN recipient group as an event, or none (delivered/relayed, an unknown Action, no way to tell whose it is). */
function dsnEvent(r: DsnRecipient, prose: TextBounceRecipient[], base: MessageLocator, problems: string[], event: MakeEvent): FeedbackEvent[] {
  const recipient = r.originalRecipient ?? r.finalRecipient;
  const action = r.action ?? (r.status?.startsWith('5') ? 'failed' : r.status?.startsWith('4') ? 'delayed' : null);
  const who = recipient ?? '(no rfc822 address)';
  if (action && SKIPPED_ACTIONS.has(action)) return [];
  if (action !== 'failed' && action !== 'delayed') {
    problems.push(action ? `unknown Action "${action.slice(0, 40)}" for ${who}` : `no Action or Status for ${who}`);
    return [];
  }
  if (!recipient && !base.messageRef && !base.messageId) {
    problems.push('a recipient group names no rfc822 address and the message cannot be found otherwise');
    return [];
  }
  const diagnostic = r.diagnostic ?? prose.find((p) => recipient && p.recipient.toLowerCase() === recipient.toLowerCase())?.diagnostic ?? null;
  const verdict = classifyBounce({ status: r.status, diagnostic, action });
  // The address we wrote to was forwarded or expanded (an alias, a list) and a later address
  // failed: ours may still be good, so a hard verdict counts only as soft (repeats still suppress).
  const downstream = r.originalRecipient && r.finalRecipient && r.originalRecipient.toLowerCase() !== r.finalRecipient.toLowerCase();
  const bounce = downstream && verdict.class === 'hard' ? { ...verdict, class: 'soft' as const } : verdict;
  return [event(action === 'failed' ? 'bounced' : 'deferred', { ...base, recipient }, { bounce }, r.finalRecipient ?? recipient)];
}

/**
 * One event per address we wrote to: a list or alias we mailed once may come back with a group
 * per member, and one message must not count as several bounces. A failure beats a delay.
 */
function onePerRecipient(events: FeedbackEvent[]): FeedbackEvent[] {
  const kept = new Map<string, FeedbackEvent>();
  const rest: FeedbackEvent[] = [];
  for (const e of events) {
    const key = e.locator.recipient?.toLowerCase();
    if (!key) {
      rest.push(e);
      continue;
    }
    const seen = kept.get(key);
    if (!seen || (seen.type === 'deferred' && e.type === 'bounced')) kept.set(key, e);
  }
  return [...kept.values(), ...rest];
}

/** Every address in a header value (`a@x, "B" <b@y>`). */
function addressesIn(value: string): string[] {
  const out: string[] = [];
  for (const piece of value.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const a = firstAddressIn(piece);
    if (a) out.push(a);
  }
  return out;
}

/** The readable text of a message: its text/plain parts, or its HTML with the tags taken out. */
function bodyText(leaves: MimePart[]): string {
  const limit = 512 * 1024;
  const plain = leaves.filter((p) => p.type === 'text/plain' && !/attachment/i.test(p.headers.get('Content-Disposition') ?? ''));
  if (plain.length > 0) return plain.map((p) => textOf(p)).join('\n').slice(0, limit);
  const html = leaves.find((p) => p.type === 'text/html');
  if (!html) return '';
  return textOf(html)
    .slice(0, limit)
    .replace(/<(style|script)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<br\s*\/?>|<\/(p|div|tr|li|h\d)>/gi, '\n')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}
