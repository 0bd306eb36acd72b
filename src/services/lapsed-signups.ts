import { inTransaction, type Db } from '../db/database.ts';
import { anonymiseConsentRecords, insertConsentRecords } from '../db/queries/consent-log.ts';
import { deleteContact, selectContact } from '../db/queries/contacts.ts';
import { deleteOptinMessages } from '../db/queries/messages.ts';
import { deleteSignupContact, selectLapsedSignupContacts } from '../db/queries/signup-contacts.ts';
import { deleteSubscription, selectLapsedPendingTopics, selectSubscriptions, upsertSubscriptions, type LapsedPendingTopic } from '../db/queries/subscriptions.ts';
import { deleteOptinRequestsBefore } from '../db/queries/optin-requests.ts';
import { selectTopics } from '../db/queries/topics.ts';
import type { ServiceContext } from './context.ts';
import { storedAddressHash } from './suppressions.ts';

/**
 * How long a signup that never confirmed is kept: its confirmation link works for a week
 * (SIGNUP_LINK_TTL_MS), and a month leaves time for someone who asks why nothing arrived.
 */
export const LAPSED_SIGNUP_AFTER_MS = 30 * 24 * 3600_000;

const BATCH = 500;

/**
 * Removes contacts that only ever were an unconfirmed signup (db/queries/signup-contacts.ts says
 * exactly which), a month after their last confirmation email: the profile, the pending topics,
 * the confirmation messages and their events go; the consent log keeps its entries without the
 * address, IP or user agent (the address as a keyed hash, as after erasure). Unlike erasure, the
 * address is not suppressed: its owner may still sign up. Also forgets the resend throttle of
 * addresses not mailed for as long. Each contact in its own transaction, checked again inside it.
 * Then lapses the requests of contacts that are kept (lapsePendingTopics).
 */
export async function removeLapsedSignups(ctx: ServiceContext): Promise<{ contacts: number; topics: number; optinRequests: number }> {
  const before = ctx.clock.now() - LAPSED_SIGNUP_AFTER_MS;
  let contacts = 0;
  for (;;) {
    const ids = await selectLapsedSignupContacts(ctx.db, { before, limit: BATCH });
    let removed = 0;
    for (const id of ids) {
      const gone = await inTransaction(ctx.db, async (tx) => {
        // A confirmation, an order or an import may have come since the read.
        if ((await selectLapsedSignupContacts(tx, { before, limit: 1, onlyId: id })).length === 0) return false;
        // A signup's contact always has its address.
        const contact = (await selectContact(tx, id))!;
        await anonymiseConsentRecords(tx, id, storedAddressHash(ctx.keyring, contact.email!), 'lapsed');
        await deleteOptinMessages(tx, id);
        return deleteContact(tx, id);
      });
      if (gone) removed++;
    }
    contacts += removed;
    if (ids.length < BATCH || removed === 0) break;
  }
  const topics = await lapsePendingTopics(ctx, before);
  const optinRequests = await deleteOptinRequestsBefore(ctx.db, before);
  if (contacts > 0 || topics > 0) ctx.logger.info({ contacts, topics }, 'unconfirmed signups removed');
  return { contacts, topics, optinRequests };
}

/**
 * A contact Chapar knew before its signup (or that has bought, or been seen, since) is kept, but
 * its unconfirmed request should not stay `pending` for ever: the link has long expired and nobody
 * may confirm it. Each such topic goes back to where it stood before the request (unsubscribed,
 * or no status at all), with a `lapse` entry in the consent log. Only a signup form's requests
 * lapse; a pending status set through the API or an import is left to whoever set it. A segment
 * on a topic whose status was removed sees the contact leave at its next full refresh, within a
 * day (services/segment-schedule.ts): an incremental one watches changed rows, and this row is gone.
 */
async function lapsePendingTopics(ctx: ServiceContext, before: number): Promise<number> {
  let lapsed = 0;
  for (const { id: topicId } of await selectTopics(ctx.db)) {
    for (;;) {
      const found = await selectLapsedPendingTopics(ctx.db, { topicId, before, limit: BATCH });
      let done = 0;
      for (const topic of found) if (await inTransaction(ctx.db, (tx) => lapseOne(ctx, tx, before, topic))) done++;
      lapsed += done;
      if (found.length < BATCH || done === 0) break;
    }
  }
  return lapsed;
}

async function lapseOne(ctx: ServiceContext, tx: Db, before: number, p: LapsedPendingTopic): Promise<boolean> {
  // Confirmed, asked again or changed since the read.
  const [topic] = await selectLapsedPendingTopics(tx, { topicId: p.topicId, before, limit: 1, onlyContact: p.contactId });
  if (!topic) return false;
  const now = ctx.clock.now();
  if (topic.before === 'unsubscribed') await upsertSubscriptions(tx, [{ contactId: topic.contactId, topicId: topic.topicId, status: 'unsubscribed' }], now);
  else await deleteSubscription(tx, topic.contactId, topic.topicId);
  await insertConsentRecords(tx, [{ contactId: topic.contactId, email: topic.email, topicId: topic.topicId, topicKey: topic.topicKey, action: 'lapse', status: topic.before ?? 'none', source: 'double_opt_in', ip: null, userAgent: null, wording: null, wordingVersion: null, createdAt: now }]);
  // No longer waiting to confirm anything: not the signup's own contact any more.
  if (!(await selectSubscriptions(tx, [topic.contactId])).some((x) => x.status === 'pending')) await deleteSignupContact(tx, topic.contactId);
  return true;
}
