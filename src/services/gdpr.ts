import { inTransaction } from '../db/database.ts';
import { deleteContact, selectContact } from '../db/queries/contacts.ts';
import { anonymiseConsentRecords } from '../db/queries/consent-log.ts';
import { eraseMessagesOf } from '../db/queries/message-erasure.ts';
import { forgetSuppressionAddresses, insertSuppression, selectSuppressions } from '../db/queries/suppressions.ts';
import { normalizeEmail } from '../domain/emails.ts';
import { AppError } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';
import { consentHistory, topicStatuses } from './subscriptions.ts';
import { storedAddressHash, suppressionHash } from './suppressions.ts';

/**
 * Everything Chapar holds about one contact, as one JSON document (GDPR Art. 15 and 20).
 * Later modules (messages, events, orders) add their sections here.
 */
export async function exportContactData(ctx: ServiceContext, id: number): Promise<Record<string, unknown>> {
  const contact = await selectContact(ctx.db, id);
  if (!contact) throw new AppError('not_found', `contact ${id} does not exist`);
  const key = contact.email === null ? null : normalizeEmail(contact.email);
  const hash = key?.ok ? suppressionHash(ctx.keyring, key.value.key) : undefined;
  return {
    format: 'chapar.contact-export/1',
    exportedAt: new Date(ctx.clock.now()).toISOString(),
    contact: { ...contact, createdAt: iso(contact.createdAt), updatedAt: iso(contact.updatedAt) },
    topics: await topicStatuses(ctx.db, id),
    consentLog: (await consentHistory(ctx.db, id)).map((r) => ({ ...r, createdAt: iso(r.createdAt) })),
    suppressions: hash
      ? (await selectSuppressions(ctx.db, { emailHash: hash, limit: 100 })).map((s) => ({ reason: s.reason, source: s.source, note: s.note, createdAt: iso(s.createdAt) }))
      : [],
  };
}

/**
 * Erases a contact (GDPR Art. 17): the profile, external ids and subscriptions are deleted, the
 * consent log is stripped of personal data, the messages to the contact lose the address, their
 * data and content (mail still waiting is stopped), and the address stays only as a keyed hash on
 * the suppression list, so a later import of the same address can never be mailed by accident.
 * All in one transaction.
 */
export async function eraseContact(ctx: ServiceContext, id: number): Promise<{ erased: true; consentRecordsAnonymised: number; messagesErased: number }> {
  const now = ctx.clock.now();
  return inTransaction(ctx.db, async (tx) => {
    const contact = await selectContact(tx, id);
    if (!contact) throw new AppError('not_found', `contact ${id} does not exist`);
    if (contact.email === null) {
      // Known only by a store id: no address to keep on the suppression list.
      const anonymised = await anonymiseConsentRecords(tx, id, 'no-address');
      const messagesErased = await eraseMessagesOf(tx, { contactId: id, emailLower: null, marker: 'erased:no-address', now });
      await deleteContact(tx, id);
      ctx.logger.info({ contactId: id }, 'contact erased');
      return { erased: true as const, consentRecordsAnonymised: anonymised, messagesErased };
    }
    const hash = storedAddressHash(ctx.keyring, contact.email);
    const anonymised = await anonymiseConsentRecords(tx, id, hash);
    const messagesErased = await eraseMessagesOf(tx, { contactId: id, emailLower: contact.email.toLowerCase(), marker: `erased:${hash}`, now });
    await forgetSuppressionAddresses(tx, hash);
    await insertSuppression(tx, { email: null, emailHash: hash, reason: 'erased', source: 'gdpr', note: null }, now);
    await deleteContact(tx, id);
    ctx.logger.info({ contactId: id }, 'contact erased');
    return { erased: true as const, consentRecordsAnonymised: anonymised, messagesErased };
  });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
