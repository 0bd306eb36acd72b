import { contactExists } from '../db/queries/contacts.ts';
import { insertEvent } from '../db/queries/events.ts';
import type { ServiceContext } from './context.ts';

/** Who made a request to a public endpoint (kept with the event; scanners are told apart later from these). */
export interface Requester {
  ip: string | null;
  userAgent: string | null;
}

/**
 * A click on a tracked link: verifies the signature (a forged or altered link is refused, so the
 * endpoint is never an open redirect), records `email_clicked`, and returns where to send the reader.
 */
export async function recordClick(ctx: ServiceContext, p: { contactId: string; ref: string; url: string; sig: string }, who: Requester): Promise<string | null> {
  const target = ctx.composer.urls.verifyClick(p.contactId, p.ref, p.url, p.sig);
  if (!target) return null;
  await recordEventIfContactExists(ctx, Number(p.contactId), p.ref, 'email_clicked', { url: target }, who);
  return target;
}

/** An open-pixel load: records `email_opened` when the pixel URL is genuine. */
export async function recordOpen(ctx: ServiceContext, p: { contactId: string; ref: string; sig: string }, who: Requester): Promise<boolean> {
  if (!ctx.composer.urls.verifyMessageTag(p.contactId, p.ref, p.sig)) return false;
  await recordEventIfContactExists(ctx, Number(p.contactId), p.ref, 'email_opened', {}, who);
  return true;
}

// A contact erased or deleted after the mail went out still clicks old links; the reader is
// redirected, but nothing is recorded about a person Chapar no longer knows.
async function recordEventIfContactExists(ctx: ServiceContext, contactId: number, ref: string, type: string, properties: Record<string, unknown>, who: Requester): Promise<void> {
  if (!(await contactExists(ctx.db, contactId))) return;
  await insertEvent(ctx.db, { type, contactId, messageRef: ref, properties, ip: who.ip, userAgent: truncate(who.userAgent), occurredAt: ctx.clock.now() });
}

function truncate(ua: string | null): string | null {
  return ua === null ? null : ua.slice(0, 512);
}
