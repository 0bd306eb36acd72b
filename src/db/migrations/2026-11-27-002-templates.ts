import { sql, type Kysely, type Migration } from 'kysely';

// Frozen once landed: never edit, add a new migration instead. Imports nothing from the app.
// Templates with per-locale variants (source and compiled output per version), installation
// settings, the append-only events stream, and the capture transport's mailbox.

export function templates(dialect: 'sqlite' | 'postgres'): Migration {
  const pg = dialect === 'postgres';
  const id = pg ? 'bigserial' : 'integer';
  const ref = pg ? 'bigint' : 'integer';
  const time = pg ? 'bigint' : 'integer';
  const json = pg ? 'jsonb' : 'text';
  const blob = pg ? 'bytea' : 'blob';
  const idCol = (c: any) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());

  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('templates')
        .addColumn('id', id, idCol)
        .addColumn('key', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('marketing', 'transactional')`))
        .addColumn('topic_id', ref, (c) => c.references('topics.id').onDelete('set null'))
        .addColumn('default_locale', 'text', (c) => c.notNull())
        .addColumn('track_opens', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('track_clicks', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('utm', json)
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();

      // One row per locale; compiled_html is the MJML/juice output of this version (compiled once
      // on save, never per recipient).
      await db.schema
        .createTable('template_variants')
        .addColumn('id', id, idCol)
        .addColumn('template_id', ref, (c) => c.notNull().references('templates.id').onDelete('cascade'))
        .addColumn('locale', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('preheader', 'text', (c) => c.notNull())
        .addColumn('from_name', 'text', (c) => c.notNull())
        .addColumn('from_email', 'text', (c) => c.notNull())
        .addColumn('reply_to', 'text')
        .addColumn('body_type', 'text', (c) => c.notNull().check(sql`body_type IN ('mjml', 'html')`))
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('text_body', 'text')
        .addColumn('compiled_html', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('template_variants_locale').unique().on('template_variants').columns(['template_id', 'locale']).execute();

      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', json, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();

      // What contacts did and what happened to messages. Append-only; read by segments, flows,
      // attribution and KPIs.
      await db.schema
        .createTable('events')
        .addColumn('id', id, idCol)
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('contact_id', ref, (c) => c.references('contacts.id').onDelete('cascade'))
        .addColumn('message_ref', 'text')
        .addColumn('properties', json, (c) => c.notNull().defaultTo(sql.lit('{}')))
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('occurred_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_contact').on('events').columns(['contact_id', 'occurred_at']).execute();
      await db.schema.createIndex('events_message').on('events').columns(['message_ref', 'type']).execute();
      await db.schema.createIndex('events_type').on('events').columns(['type', 'occurred_at']).execute();

      await db.schema
        .createTable('captured_messages')
        .addColumn('id', id, idCol)
        .addColumn('message_ref', 'text', (c) => c.notNull())
        .addColumn('envelope_from', 'text', (c) => c.notNull())
        .addColumn('envelope_to', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('raw', blob, (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('captured_messages_ref').on('captured_messages').column('message_ref').execute();
    },
  };
}
