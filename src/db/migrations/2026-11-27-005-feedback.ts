import { sql, type Kysely, type Migration } from 'kysely';

// Frozen once landed: never edit, add a new migration instead. Imports nothing from the app.
// The feedback loop: events learn where they came from (source and the source's own id, unique, so
// a retried webhook or a re-read log line is stored once), why (the bounce reason) and whether a
// machine rather than a person made them (Apple Mail Privacy Protection, link scanners). Feedback
// that names no message we know is kept for inspection; soft bounces are counted per address;
// the mail.log follower keeps its place and the queue ids it has seen; double opt-in remembers
// when it last mailed an address.

export function feedback(dialect: 'sqlite' | 'postgres'): Migration {
  const pg = dialect === 'postgres';
  const id = pg ? 'bigserial' : 'integer';
  const time = pg ? 'bigint' : 'integer';
  const json = pg ? 'jsonb' : 'text';
  const idCol = (c: any) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());

  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('events').addColumn('source', 'text').execute();
      await db.schema.alterTable('events').addColumn('source_event_id', 'text').execute();
      await db.schema.alterTable('events').addColumn('reason', 'text').execute();
      // null: a person (as far as can be told); 'apple_mpp' | 'scanner' | 'prefetch': a machine.
      await db.schema.alterTable('events').addColumn('machine', 'text').execute();
      // NULLs are distinct in a unique index on both dialects: events without a source id never clash.
      await db.schema.createIndex('events_source_event').unique().on('events').columns(['source', 'source_event_id']).execute();

      // ESP events name the provider's id for the message (Mailgun's `<…@domain>`, SendGrid's X-Message-Id, SES's MessageId).
      await db.schema.createIndex('messages_provider_id').on('messages').column('provider_message_id').execute();

      await db.schema
        .createTable('unmatched_feedback')
        .addColumn('id', id, idCol)
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('source_event_id', 'text')
        .addColumn('type', 'text')
        .addColumn('why', 'text', (c) => c.notNull())
        .addColumn('detail', json, (c) => c.notNull().defaultTo(sql.lit('{}')))
        .addColumn('raw', 'text')
        .addColumn('received_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('unmatched_feedback_source_event').unique().on('unmatched_feedback').columns(['source', 'source_event_id']).execute();
      await db.schema.createIndex('unmatched_feedback_received').on('unmatched_feedback').column('received_at').execute();

      // The soft bounces that still count for an address (keyed hash, as on the suppression list):
      // times within the window since the last delivery; a delivery deletes the row.
      await db.schema
        .createTable('soft_bounces')
        .addColumn('email_hash', 'text', (c) => c.primaryKey())
        .addColumn('times', json, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();

      // Where `chapar maillog follow` stopped in each file (the inode tells a rotated file from the old one).
      await db.schema
        .createTable('maillog_cursors')
        .addColumn('path', 'text', (c) => c.primaryKey())
        .addColumn('inode', 'text', (c) => c.notNull())
        .addColumn('offset', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();
      // Postfix queue ids seen with our Message-ID (cleanup's line), until the queue file is removed;
      // kept in the database so a restart between the two lines still joins them.
      await db.schema
        .createTable('maillog_queue')
        .addColumn('queue_id', 'text', (c) => c.primaryKey())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('seen_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('maillog_queue_seen').on('maillog_queue').column('seen_at').execute();

      // Double opt-in: when a confirmation email last went to an address (keyed hash), so list
      // bombing cannot make Chapar mail one address more than once an hour.
      await db.schema
        .createTable('optin_requests')
        .addColumn('email_hash', 'text', (c) => c.primaryKey())
        .addColumn('last_sent_at', time, (c) => c.notNull())
        .addColumn('requests', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
    },
  };
}
