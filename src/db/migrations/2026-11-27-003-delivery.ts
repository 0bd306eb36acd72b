import { sql, type Kysely, type Migration } from 'kysely';

// Frozen once landed: never edit, add a new migration instead. Imports nothing from the app.
// The delivery engine: the outbox (`messages`, one row per email, written before any send), each
// message's history (every attempt with the reply it got), the configured transports (secrets
// sealed), and the circuit breakers' pauses.

export function delivery(dialect: 'sqlite' | 'postgres'): Migration {
  const pg = dialect === 'postgres';
  const id = pg ? 'bigserial' : 'integer';
  const ref = pg ? 'bigint' : 'integer';
  const time = pg ? 'bigint' : 'integer';
  const json = pg ? 'jsonb' : 'text';
  const idCol = (c: any) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());

  return {
    async up(db: Kysely<any>) {
      // `due_at` is when the row may next be claimed: the send time when queued or deferred, the
      // lease's end while sending (so a dead worker's row comes back by itself). One partial index
      // over the claimable states makes the claim a range scan.
      await db.schema
        .createTable('messages')
        .addColumn('id', id, idCol)
        .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
        .addColumn('ref', 'text', (c) => c.notNull().unique())
        .addColumn('stream', 'text', (c) => c.notNull().check(sql`stream IN ('marketing', 'transactional')`))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('contact_id', ref, (c) => c.references('contacts.id').onDelete('set null'))
        .addColumn('to_email', 'text', (c) => c.notNull())
        .addColumn('template_key', 'text')
        .addColumn('content', json)
        .addColumn('data', json, (c) => c.notNull().defaultTo(sql.lit('{}')))
        .addColumn('locale', 'text')
        .addColumn('topic_key', 'text')
        .addColumn('campaign_id', ref)
        .addColumn('stream_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) =>
          c.notNull().check(sql`status IN ('queued', 'sending', 'sent', 'deferred', 'failed', 'suppressed', 'bounced', 'complained')`),
        )
        .addColumn('due_at', time, (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('transport', 'text')
        .addColumn('provider_message_id', 'text')
        .addColumn('last_response', 'text')
        .addColumn('reason', 'text')
        .addColumn('api_key_id', ref)
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addColumn('sent_at', time)
        .execute();
      await sql`CREATE INDEX messages_claimable ON messages (due_at) WHERE status IN ('queued', 'deferred', 'sending')`.execute(db);
      await db.schema.createIndex('messages_contact').on('messages').columns(['contact_id', 'created_at']).execute();
      await db.schema.createIndex('messages_campaign').on('messages').columns(['campaign_id', 'status']).execute();
      await db.schema.createIndex('messages_sent').on('messages').columns(['transport', 'sent_at']).execute();
      // The circuit breakers count the last day's outcomes every few seconds.
      await db.schema.createIndex('messages_updated').on('messages').columns(['updated_at']).execute();

      await db.schema
        .createTable('message_history')
        .addColumn('id', id, idCol)
        .addColumn('message_id', ref, (c) => c.notNull().references('messages.id').onDelete('cascade'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer')
        .addColumn('transport', 'text')
        .addColumn('code', 'integer')
        .addColumn('enhanced', 'text')
        .addColumn('response', 'text')
        .addColumn('at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('message_history_message').on('message_history').columns(['message_id', 'id']).execute();

      // Credentials live sealed in `secret`; `config` holds only what may be shown.
      await db.schema
        .createTable('transports')
        .addColumn('id', id, idCol)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('smtp', 'mailgun', 'sendgrid', 'ses', 'capture')`))
        .addColumn('config', json, (c) => c.notNull())
        .addColumn('secret', 'text')
        .addColumn('max_per_second', 'real')
        .addColumn('max_connections', 'integer')
        .addColumn('warmup', json)
        .addColumn('warmup_started_at', time)
        .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();

      // A circuit breaker's state per scope (`transport:<name>`, `campaign:<id>`): slowed or paused
      // with the figures that tripped it, until an operator resumes it.
      await db.schema
        .createTable('breakers')
        .addColumn('scope', 'text', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('normal', 'slowed', 'paused')`))
        .addColumn('reason', 'text')
        .addColumn('changed_at', time, (c) => c.notNull())
        .addColumn('resumed_at', time)
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['breakers', 'transports', 'message_history', 'messages']) await db.schema.dropTable(t).execute();
    },
  };
}
