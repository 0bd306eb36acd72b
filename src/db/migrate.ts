import { Migrator, sql, type Migration, type MigrationResultSet } from 'kysely';
import type { Database } from './database.ts';
import type { DialectName } from './dialect.ts';
import { foundation } from './migrations/2026-11-27-001-foundation.ts';
import { templates } from './migrations/2026-11-27-002-templates.ts';
import { delivery } from './migrations/2026-11-27-003-delivery.ts';
import { dkimKeys } from './migrations/2026-11-27-004-dkim-keys.ts';
import { feedback } from './migrations/2026-11-27-005-feedback.ts';
import { store } from './migrations/2026-11-27-006-store.ts';
import { contactsByStoreId } from './migrations/2026-11-27-007-contacts-by-store-id.ts';
import { eventSourceIds } from './migrations/2026-11-27-008-event-source-ids.ts';
import { eventsByContact } from './migrations/2026-11-27-009-events-by-contact.ts';
import { orderRefunds } from './migrations/2026-11-27-010-order-refunds.ts';
import { signupContacts } from './migrations/2026-11-27-011-signup-contacts.ts';

/** Every migration, in the order it runs. Names are dated and never change once landed. */
function migrations(dialect: DialectName): Record<string, Migration> {
  return {
    '2026-11-27-001-foundation': foundation(dialect),
    '2026-11-27-002-templates': templates(dialect),
    '2026-11-27-003-delivery': delivery(dialect),
    '2026-11-27-004-dkim-keys': dkimKeys(dialect),
    '2026-11-27-005-feedback': feedback(dialect),
    '2026-11-27-006-store': store(dialect),
    '2026-11-27-007-contacts-by-store-id': contactsByStoreId(dialect),
    '2026-11-27-008-event-source-ids': eventSourceIds(dialect),
    '2026-11-27-009-events-by-contact': eventsByContact(dialect),
    '2026-11-27-010-order-refunds': orderRefunds(dialect),
    '2026-11-27-011-signup-contacts': signupContacts(dialect),
  };
}

/** Applies every pending migration; returns the names applied. Throws with the failing name on error. */
export async function migrateToLatest(db: Database): Promise<string[]> {
  return migrate(db, (m) => m.migrateToLatest());
}

/** Applies the pending migrations up to and including `name` (an upgrade test starts from an older schema). */
export async function migrateUpTo(db: Database, name: string): Promise<string[]> {
  return migrate(db, (m) => m.migrateTo(name));
}

async function migrate(db: Database, run: (m: Migrator) => Promise<MigrationResultSet>): Promise<string[]> {
  // Kysely looks for its bookkeeping tables in every schema; name ours, or a second installation
  // (or test) in another schema of the same database would be mistaken for this one.
  const schema = db.dialect === 'postgres' ? (await sql<{ s: string }>`SELECT current_schema() AS s`.execute(db.k)).rows[0]?.s : undefined;
  const migrator = new Migrator({
    db: db.k,
    provider: { getMigrations: async () => migrations(db.dialect) },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const result: MigrationResultSet = await run(migrator);
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${(result.error as Error).message ?? String(result.error)}`);
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
