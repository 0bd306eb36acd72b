import { selectContact } from '../db/queries/contacts.ts';
import { selectEvents, type EventRecord } from '../db/queries/events.ts';
import { selectUnmatchedFeedback, type UnmatchedFeedbackRow } from '../db/queries/feedback.ts';
import { selectMessage } from '../db/queries/messages.ts';
import { AppError } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';

/** A page request: newest first, `beforeId` from the previous page. */
export interface EventPage {
  beforeId?: number;
  limit: number;
  types?: readonly string[];
}

/** What happened to one message after it was queued: deliveries, bounces, complaints, opens, clicks. */
export async function listMessageEvents(ctx: ServiceContext, messageId: number, page: EventPage): Promise<EventRecord[]> {
  const m = await selectMessage(ctx.db, messageId);
  if (!m) throw new AppError('not_found', `message ${messageId} does not exist`);
  return selectEvents(ctx.db, { message: { ref: m.ref, contactId: m.contactId }, ...page });
}

/** Everything recorded about one contact, from any message or source. */
export async function listContactEvents(ctx: ServiceContext, contactId: number, page: EventPage): Promise<EventRecord[]> {
  if (!(await selectContact(ctx.db, contactId))) throw new AppError('not_found', `contact ${contactId} does not exist`);
  return selectEvents(ctx.db, { contactId, ...page });
}

/** Feedback kept because it named no message Chapar knows, or could not be read. */
export async function listUnmatchedFeedback(ctx: ServiceContext, page: { source?: string; beforeId?: number; limit: number }): Promise<UnmatchedFeedbackRow[]> {
  return selectUnmatchedFeedback(ctx.db, page);
}
