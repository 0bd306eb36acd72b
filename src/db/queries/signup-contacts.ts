import { sql } from 'kysely';
import type { Db } from '../database.ts';

// Contacts that exist only because someone typed an address into a signup form and the address
// never confirmed: possibly not even its owner (list bombing signs up strangers). They hold an
// address, an IP and a user agent of someone who never agreed to anything, so they are not kept.

/**
 * Contacts a signup created that never confirmed, with nothing else Chapar knows of them, whose
 * every confirmation went out before `before` (so no link they were sent can still confirm):
 * - every subscription is pending, and none changed since `before`;
 * - a signup created the contact and it never confirmed (signup_contacts), and every consent entry
 *   is a pending request;
 * - its only messages are double opt-in confirmations (stream `optin`), all queued before `before`;
 * - no order, cart, store id, or event other than the confirmations' own email events;
 * - the profile unchanged since `before`.
 * `onlyId` re-checks one contact (inside the transaction that removes it).
 */
export async function selectLapsedSignupContacts(db: Db, p: { before: number; limit: number; onlyId?: number }): Promise<number[]> {
  const r = await sql<{ id: number }>`
    SELECT c.id FROM signup_contacts sc JOIN contacts c ON c.id = sc.contact_id
    WHERE sc.created_at < ${p.before} AND c.updated_at < ${p.before}${p.onlyId === undefined ? sql`` : sql` AND sc.contact_id = ${p.onlyId}`}
      AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.contact_id = c.id AND s.status = 'pending')
      AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.contact_id = c.id AND (s.status <> 'pending' OR s.updated_at >= ${p.before}))
      AND NOT EXISTS (SELECT 1 FROM consent_log l WHERE l.contact_id = c.id AND l.status <> 'pending')
      AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.contact_id = c.id AND (m.stream_id <> 'optin' OR m.created_at >= ${p.before}))
      AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.contact_id = c.id)
      AND NOT EXISTS (SELECT 1 FROM carts k WHERE k.contact_id = c.id)
      AND NOT EXISTS (SELECT 1 FROM contact_external_ids x WHERE x.contact_id = c.id)
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id AND SUBSTR(e.type, 1, 6) <> 'email_')
    ORDER BY sc.contact_id
    LIMIT ${p.limit}`.execute(db.k);
  return r.rows.map((x) => Number(x.id));
}

/** Remembers that a signup created this contact (until it confirms). Changes `signup_contacts`. */
export async function insertSignupContact(db: Db, contactId: number, now: number): Promise<void> {
  await db.k.insertInto('signupContacts').values({ contactId, createdAt: now }).execute();
}

/** Forgets that a signup created this contact: it confirmed. Changes `signup_contacts`. */
export async function deleteSignupContact(db: Db, contactId: number): Promise<void> {
  await db.k.deleteFrom('signupContacts').where('contactId', '=', contactId).execute();
}
