import { sql, type Kysely, type Migration } from 'kysely';

// Frozen once landed: never edit, add a new migration instead. Imports nothing from the app.
// Contacts, topics and subscriptions, the append-only consent log, the suppression list, API keys.

export function foundation(dialect: 'sqlite' | 'postgres'): Migration {
  const pg = dialect === 'postgres';
  const id = pg ? 'bigserial' : 'integer';
  const ref = pg ? 'bigint' : 'integer';
  const time = pg ? 'bigint' : 'integer';
  const json = pg ? 'jsonb' : 'text';
  const idCol = (c: any) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());

  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('contacts')
        .addColumn('id', id, idCol)
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('email_key', 'text', (c) => c.notNull())
        .addColumn('email_domain', 'text', (c) => c.notNull())
        .addColumn('first_name', 'text')
        .addColumn('last_name', 'text')
        .addColumn('locale', 'text')
        .addColumn('timezone', 'text')
        .addColumn('currency', 'text')
        .addColumn('phone', 'text')
        .addColumn('attributes', json, (c) => c.notNull().defaultTo(sql.lit('{}')))
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('contacts_email_key').unique().on('contacts').column('email_key').execute();
      await db.schema.createIndex('contacts_email_domain').on('contacts').column('email_domain').execute();

      await db.schema
        .createTable('contact_external_ids')
        .addColumn('contact_id', ref, (c) => c.notNull().references('contacts.id').onDelete('cascade'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('contact_external_ids_pk', ['contact_id', 'source'])
        .execute();
      await db.schema
        .createIndex('contact_external_ids_owner')
        .unique()
        .on('contact_external_ids')
        .columns(['source', 'external_id'])
        .execute();

      await db.schema
        .createTable('topics')
        .addColumn('id', id, idCol)
        .addColumn('key', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('subscriptions')
        .addColumn('contact_id', ref, (c) => c.notNull().references('contacts.id').onDelete('cascade'))
        .addColumn('topic_id', ref, (c) => c.notNull().references('topics.id').onDelete('cascade'))
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('pending', 'subscribed', 'unsubscribed')`))
        .addColumn('updated_at', time, (c) => c.notNull())
        .addPrimaryKeyConstraint('subscriptions_pk', ['contact_id', 'topic_id'])
        .execute();
      await db.schema.createIndex('subscriptions_topic_status').on('subscriptions').columns(['topic_id', 'status']).execute();

      // The consent log outlives contacts and topics (it is the proof of consent), so its
      // references are cleared, never cascaded, and the key and address are kept as text.
      await db.schema
        .createTable('consent_log')
        .addColumn('id', id, idCol)
        .addColumn('contact_id', ref, (c) => c.references('contacts.id').onDelete('set null'))
        .addColumn('email', 'text')
        .addColumn('topic_id', ref, (c) => c.references('topics.id').onDelete('set null'))
        .addColumn('topic_key', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('wording', 'text')
        .addColumn('wording_version', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('consent_log_contact').on('consent_log').columns(['contact_id', 'id']).execute();
      // Append-only, enforced by the database itself: no code path, bug or SQL console can delete proof.
      if (pg) {
        await sql`CREATE FUNCTION consent_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'consent_log is append-only'; END $$`.execute(db);
        await sql`CREATE TRIGGER consent_log_no_delete BEFORE DELETE OR TRUNCATE ON consent_log
          FOR EACH STATEMENT EXECUTE FUNCTION consent_log_append_only()`.execute(db);
      } else {
        await sql`CREATE TRIGGER consent_log_no_delete BEFORE DELETE ON consent_log
          BEGIN SELECT RAISE(ABORT, 'consent_log is append-only'); END`.execute(db);
      }

      await db.schema
        .createTable('suppressions')
        .addColumn('id', id, idCol)
        .addColumn('email', 'text')
        .addColumn('email_hash', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('suppressions_hash_reason').unique().on('suppressions').columns(['email_hash', 'reason']).execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', id, idCol)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('last_used_at', time)
        .addColumn('revoked_at', time)
        .execute();

      await db.schema
        .createTable('meta')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
