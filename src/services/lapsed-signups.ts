import { inTransaction } from '../db/database.ts';
import { anonymiseConsentRecords } from '../db/queries/consent-log.ts';
import { deleteContact, selectContact } from '../db/queries/contacts.ts';
import { deleteOptinMessages } from '../db/queries/messages.ts';
import { selectLapsedSignupContacts } from '../db/queries/signup-contacts.ts';
import { deleteOptinRequestsBefore } from '../db/queries/optin-requests.ts';
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
 */
export async function removeLapsedSignups(ctx: ServiceContext): Promise<{ contacts: number; optinRequests: number }> {
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
  const optinRequests = await deleteOptinRequestsBefore(ctx.db, before);
  if (contacts > 0) ctx.logger.info({ contacts }, 'unconfirmed signups removed');
  return { contacts, optinRequests };
}
