import { sql, type Kysely, type Migration } from 'kysely';

// Frozen once landed: never edit, add a new migration instead. Imports nothing from the app.
// A contact may have no email address yet: a store customer seen first by their store id alone
// (an order, a cart or an event naming only a customer id) is a contact from that moment, so
// nothing they do is lost; they are never mailed until an address arrives. email, email_key and
// email_domain become nullable, and stay all null or all set.

export function contactsByStoreId(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect === 'postgres') {
        await sql`ALTER TABLE contacts ALTER COLUMN email DROP NOT NULL, ALTER COLUMN email_key DROP NOT NULL, ALTER COLUMN email_domain DROP NOT NULL,
          ADD CONSTRAINT contacts_email_all_or_none CHECK ((email IS NULL) = (email_key IS NULL) AND (email IS NULL) = (email_domain IS NULL))`.execute(db);
        return;
      }
      // SQLite cannot drop a NOT NULL: the table is rebuilt (https://sqlite.org/lang_altertable.html,
      // "other kinds of table schema changes"), with foreign keys off so that dropping the old table
      // deletes nothing through ON DELETE CASCADE, and checked before the commit. Kysely runs SQLite
      // migrations outside a transaction, which is what lets the pragma take effect.
      const table = (await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'contacts'`.execute(db)).rows[0]!.sql;
      const indexes = (await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contacts' AND sql IS NOT NULL`.execute(db)).rows.map((r) => r.sql);
      let rebuilt = table.replace(/^CREATE TABLE\s+"?contacts"?/i, 'CREATE TABLE "contacts_rebuilt"');
      for (const column of ['email', 'email_key', 'email_domain']) {
        const before = rebuilt;
        rebuilt = rebuilt.replace(new RegExp(`("${column}"\\s+text)\\s+not null`, 'i'), '$1');
        if (rebuilt === before) throw new Error(`contacts.${column}: its definition is not the expected "${column}" text not null`);
      }
      rebuilt = rebuilt.replace(/\)\s*$/, `, CONSTRAINT contacts_email_all_or_none CHECK ((email IS NULL) = (email_key IS NULL) AND (email IS NULL) = (email_domain IS NULL)))`);
      await sql`PRAGMA foreign_keys = OFF`.execute(db);
      try {
        await sql`BEGIN`.execute(db);
        try {
          await sql.raw(rebuilt).execute(db);
          await sql`INSERT INTO contacts_rebuilt SELECT * FROM contacts`.execute(db);
          await sql`DROP TABLE contacts`.execute(db);
          await sql`ALTER TABLE contacts_rebuilt RENAME TO contacts`.execute(db);
          for (const index of indexes) await sql.raw(index).execute(db);
          const broken = await sql<{ table: string }>`PRAGMA foreign_key_check`.execute(db);
          if (broken.rows.length > 0) throw new Error(`rebuilding contacts broke ${broken.rows.length} foreign keys (first in ${broken.rows[0]!.table})`);
          await sql`COMMIT`.execute(db);
        } catch (err) {
          await sql`ROLLBACK`.execute(db);
          throw err;
        }
      } finally {
        await sql`PRAGMA foreign_keys = ON`.execute(db);
      }
    },
  };
}
