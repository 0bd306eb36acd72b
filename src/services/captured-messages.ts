import { simpleParser } from 'mailparser';
import { selectCapturedMessage, selectCapturedMessageByRef, selectCapturedMessages, type CapturedMessage } from '../db/queries/captured-messages.ts';
import { AppError } from '../lib/errors.ts';
import { renderOutboxMessage } from './delivery.ts';
import type { ServiceContext } from './context.ts';

/** Lists what the capture transport kept, newest first, without bodies. */
export function listCapturedMessages(ctx: ServiceContext, q: { to?: string; before?: number; limit: number }) {
  return selectCapturedMessages(ctx.db, { to: q.to, beforeId: q.before, limit: q.limit });
}

/** One captured message with its raw MIME, or not_found. */
export async function getCapturedMessage(ctx: ServiceContext, id: number): Promise<CapturedMessage> {
  const m = await selectCapturedMessage(ctx.db, id);
  if (!m) throw new AppError('not_found', `captured message ${id} does not exist`);
  return m;
}

/**
 * The web version of a sent message: its HTML part (or its text, as preformatted HTML), or
 * undefined when Chapar no longer holds the message. A captured message is shown as kept; any
 * other is rendered again from the outbox.
 */
export async function webVersionOf(ctx: ServiceContext, messageRef: string): Promise<string | undefined> {
  const stored = await selectCapturedMessageByRef(ctx.db, messageRef);
  if (!stored) return renderOutboxMessage(ctx, messageRef);
  const parsed = await simpleParser(stored.raw);
  return typeof parsed.html === 'string' ? parsed.html : `<pre>${(parsed.text ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;')}</pre>`;
}
