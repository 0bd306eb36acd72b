import { sql, type Kysely, type Migration } from 'kysely';

// Frozen once landed: never edit, add a new migration instead. Imports nothing from the app.
// The unique (source, source_event_id) index that stores each webhook, API or store event once
// now holds only events that have a source id. Opens and clicks (most of the table) have none and
// no longer pay for an index entry each: about 4 µs less per tracking hit on SQLite (bench:events).

export function eventSourceIds(_dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: Kysely<any>) {
      await sql`DROP INDEX events_source_event`.execute(db);
      await sql`CREATE UNIQUE INDEX events_source_event ON events (source, source_event_id) WHERE source_event_id IS NOT NULL`.execute(db);
    },
  };
}
