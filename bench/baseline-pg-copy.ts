import { once } from 'node:events';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { readDataLines, toBaselineRow } from './baseline-rows.ts';

// The PostgreSQL baseline: the same rows streamed with one COPY … FROM STDIN (text format) into
// a table shaped like Chapar's `contacts` (same columns and types, same two indexes).
// Usage: node bin/run-ts.js bench/baseline-pg-copy.ts FILE.csv POSTGRES_URL SCHEMA   (prints {"rows": N})
// The schema must exist and be empty; the table is created in it.

const [csvPath, url, schema] = process.argv.slice(2);
if (!csvPath || !url || !schema || !/^[a-z_][a-z0-9_]*$/.test(schema)) {
  console.error('usage: baseline-pg-copy.ts FILE.csv POSTGRES_URL SCHEMA');
  process.exit(2);
}
const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
await client.connect();
// As the foundation migration creates it (Kysely's DDL for PostgreSQL).
await client.query(`
  CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    email_domain TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    locale TEXT,
    timezone TEXT,
    currency TEXT,
    phone TEXT,
    attributes JSONB DEFAULT '{}' NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE UNIQUE INDEX contacts_email_key ON contacts (email_key);
  CREATE INDEX contacts_email_domain ON contacts (email_domain);
`);

// COPY's text format: tab-separated, \N for NULL, backslash escapes for the few special bytes.
const field = (v: string | null) => (v === null ? '\\N' : /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!) : v);
const copy = client.query(copyFrom(
  'COPY contacts (email, email_key, email_domain, first_name, last_name, locale, timezone, currency, phone, attributes, created_at, updated_at) FROM STDIN',
));
const done = once(copy, 'finish');
const now = String(Date.now());
let rows = 0;
let buffer = '';
for await (const line of readDataLines(csvPath)) {
  buffer += `${toBaselineRow(line).map(field).join('\t')}\t${now}\t${now}\n`;
  rows++;
  if (buffer.length >= 1 << 16) {
    const ok = copy.write(buffer);
    buffer = '';
    if (!ok) await once(copy, 'drain');
  }
}
copy.end(buffer);
await done;
await client.end();
console.log(JSON.stringify({ rows }));
