import { sql } from 'kysely';
import type { Db } from '../database.ts';

/**
 * Erasure of a contact's mail (GDPR Art. 17): every message to the contact, or to its address with
 * no contact, keeps its row for the counts (sent, bounced, per campaign) but loses the address
 * (`to` becomes `marker`), its data and content, the server responses that may quote the address,
 * and its captured copy. Messages still waiting to go are stopped (`suppressed`, reason `erased`);
 * one being sent at this moment is left to its worker. Returns how many messages were erased.
 */
export async function eraseMessagesOf(db: Db, p: { contactId: number; emailLower: string | null; marker: string; now: number }): Promise<number> {
  // By contact through messages_contact; by address, a scan of the table inside the erasure's
  // transaction (there is no index by recipient, and erasure is rare).
  const whose = p.emailLower === null ? sql`contact_id = ${p.contactId}` : sql`(contact_id = ${p.contactId} OR (contact_id IS NULL AND LOWER(to_email) = ${p.emailLower}))`;
  const rows = (await sql<{ id: number; ref: string }>`SELECT id, ref FROM messages WHERE ${whose}`.execute(db.k)).rows;
  if (rows.length === 0) return 0;
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const ids = chunk.map((r) => Number(r.id));
    await sql`UPDATE message_history SET response = NULL WHERE message_id IN (${sql.join(ids)})`.execute(db.k);
    await sql`DELETE FROM captured_messages WHERE message_ref IN (${sql.join(chunk.map((r) => r.ref))})`.execute(db.k);
    await sql`
      UPDATE messages SET to_email = ${p.marker}, data = '{}', content = NULL, last_response = NULL, updated_at = ${p.now},
        reason = CASE WHEN status IN ('queued', 'deferred') THEN 'erased' ELSE reason END,
        status = CASE WHEN status IN ('queued', 'deferred') THEN 'suppressed' ELSE status END
      WHERE id IN (${sql.join(ids)})`.execute(db.k);
  }
  return rows.length;
}
