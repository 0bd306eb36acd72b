import { sql, type Kysely, type Migration } from 'kysely';

// Frozen once landed: never edit, add a new migration instead. Imports nothing from the app.
// DKIM signing keys: the private key sealed (AES-GCM under the master secret), the public half as
// the DNS TXT value to publish. A (domain, selector) pair names one key forever, retired or not:
// receivers cache DNS, so a selector must never come back with a different key.

export function dkimKeys(dialect: 'sqlite' | 'postgres'): Migration {
  const pg = dialect === 'postgres';
  const id = pg ? 'bigserial' : 'integer';
  const time = pg ? 'bigint' : 'integer';
  const idCol = (c: any) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());

  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('dkim_keys')
        .addColumn('id', id, idCol)
        // Lower-case, IDNA ASCII form (xn--…): what d= carries and what DNS is asked.
        .addColumn('domain', 'text', (c) => c.notNull())
        .addColumn('selector', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull().check(sql`algorithm IN ('rsa-sha256', 'ed25519-sha256')`))
        .addColumn('private_key_sealed', 'text', (c) => c.notNull())
        .addColumn('public_dns_value', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('active', 'retired')`))
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('retired_at', time)
        .execute();
      await db.schema.createIndex('dkim_keys_domain_selector').unique().on('dkim_keys').columns(['domain', 'selector']).execute();
    },
  };
}
