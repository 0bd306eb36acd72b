import { createHash } from 'node:crypto';
import { parseFeedbackMail, type FeedbackMailKind } from '../adapters/feedback/feedback-mail.ts';
import type { BounceMailSink, ReceivedMail } from '../ports/bounce-mail.ts';
import type { ServiceContext } from './context.ts';
import { recordFeedback, recordUnmatched, type FeedbackResult } from './feedback.ts';
import { contactForLink, unsubscribe } from './preferences.ts';
import { getStoreSettings } from './store-settings.ts';

// What the bounce receiver does with one accepted message: mail to `unsubscribe+<token>@`
// unsubscribes (the List-Unsubscribe mailto: of RFC 2369); everything else is read as feedback
// and stored, or kept as unmatched when it cannot be read. Throws only when storing fails, so the
// sender is told to try again later rather than losing the report.

/** What became of one received message. */
export interface BounceMailOutcome {
  /** The kind of feedback read, or null when the message went only to unsubscribe addresses. */
  kind: FeedbackMailKind | null;
  results: FeedbackResult[];
  /** Kept as unmatched because nothing could be read from it. */
  unmatched: boolean;
  /** Contacts unsubscribed through an unsubscribe+ address. */
  unsubscribed: number;
}

const UNSUBSCRIBE = /^unsubscribe\+([^@]+)@/i;

/** The bounce receiver's sink: the store's bounce domain plus `extraDomains`, tokens checked by their signature, messages taken by takeBounceMail. */
export function bounceMailSink(ctx: ServiceContext, extraDomains: readonly string[] = []): BounceMailSink {
  return {
    clock: ctx.clock,
    logger: ctx.logger,
    domains: async () => [(await getStoreSettings(ctx)).bounceDomain, ...extraDomains],
    isUnsubscribeToken: (token) => ctx.composer.urls.readToken(token) !== null,
    take: (mail) => takeBounceMail(ctx, mail),
  };
}

/** Unsubscribes, records feedback, or keeps the message as unmatched. */
export async function takeBounceMail(ctx: ServiceContext, mail: ReceivedMail): Promise<BounceMailOutcome> {
  const tokens = mail.recipients.map((r) => UNSUBSCRIBE.exec(r)?.[1]).filter((t): t is string => t !== undefined);
  const feedbackTo = mail.recipients.filter((r) => !UNSUBSCRIBE.test(r));
  const outcome: BounceMailOutcome = { kind: null, results: [], unmatched: false, unsubscribed: 0 };

  for (const token of tokens) {
    const found = await contactForLink(ctx, token);
    if (found) {
      await unsubscribe(ctx, found.contact, found.subject, { ip: mail.remoteAddress, userAgent: null }, 'unsubscribe_mailto');
      outcome.unsubscribed++;
    } else {
      // The address was accepted with a valid token, so the contact has been erased since.
      await recordUnmatched(ctx, { source: 'bounce_receiver', sourceEventId: `unsubscribe:${digest(mail.raw)}`, type: 'unsubscribed', why: 'the unsubscribe address names a contact that no longer exists', raw: null });
      outcome.unmatched = true;
    }
  }
  if (feedbackTo.length === 0) return outcome;

  const parsed = parseFeedbackMail(mail.raw, { envelopeTo: feedbackTo, readVerp: (a) => ctx.composer.urls.readVerp(a), receivedAt: ctx.clock.now() });
  outcome.kind = parsed.kind;
  if (parsed.events.length > 0) {
    outcome.results = await recordFeedback(ctx, parsed.events);
  } else if (parsed.problems.length > 0) {
    await recordUnmatched(ctx, {
      source: 'bounce_receiver',
      sourceEventId: parsed.reportId,
      type: parsed.kind,
      why: parsed.problems.join('; '),
      detail: { kind: parsed.kind, problems: parsed.problems, to: feedbackTo, bytes: mail.raw.length },
      raw: parsed.reference,
    });
    outcome.unmatched = true;
  }
  const counts = outcome.results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
  ctx.logger.info({ kind: parsed.kind, reportId: parsed.reportId, events: parsed.events.length, results: counts, unmatched: outcome.unmatched, problems: parsed.problems.length }, 'feedback mail received');
  return outcome;
}

function digest(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 32);
}
