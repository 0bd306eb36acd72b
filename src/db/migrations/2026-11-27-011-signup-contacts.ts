import type { Kysely, Migration } from 'kysely';

// Frozen once landed: never edit, add a new migration instead. Imports nothing from the app.
// The contacts a public signup created (not those it found) until they confirm, so that one whose
// signup never confirmed can be removed without touching a contact that an import, the API or the
// store made. Small: only signups still waiting for their confirmation.

export function signupContacts(dialect: 'sqlite' | 'postgres'): Migration {
  const ref = dialect === 'postgres' ? 'bigint' : 'integer';
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('signup_contacts')
        .addColumn('contact_id', ref, (c) => c.primaryKey().references('contacts.id').onDelete('cascade'))
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
    },
  };
}
