import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestCli, type TestCli } from '../helpers/cli.ts';
import { DIALECTS } from '../helpers/databases.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/csv/', import.meta.url));

const HEADER = 'email,first_name,last_name,locale,timezone,currency,phone,external_id.crm,external_id.woocommerce,attributes,topic.newsletter,topic.promotions,created_at,updated_at';

/** The export without its created_at and updated_at columns (the only ones a round trip may change). */
function withoutTimestamps(csv: string): string[][] {
  return (parse(csv, { relax_column_count: false }) as string[][]).map((r) => r.slice(0, -2));
}

async function createTopics(cli: TestCli): Promise<void> {
  expect((await cli.run(['topics', 'create', 'newsletter', '--name', 'Weekly newsletter'])).code).toBe(0);
  expect((await cli.run(['topics', 'create', 'promotions', '--name', 'Promotions'])).code).toBe(0);
}

describe.each(DIALECTS)('chapar contacts export on %s', (dialect) => {
  let a: TestCli;
  let b: TestCli;
  beforeAll(async () => {
    a = await openTestCli(dialect);
    b = await openTestCli(dialect);
    await createTopics(a);
    await createTopics(b);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('exports only the header from an empty database', async () => {
    const r = await b.run(['contacts', 'export']);
    expect(r).toEqual({ code: 0, stdout: 'email,first_name,last_name,locale,timezone,currency,phone,attributes,topic.newsletter,topic.promotions,created_at,updated_at\n', stderr: '' });
  });

  it('round-trips: export, import into a fresh database, export again gives the same file but for timestamps', async () => {
    expect(await a.run(['contacts', 'import', '--quiet', join(FIXTURES, 'round-trip.csv')])).toMatchObject({
      code: 0,
      stdout: '4 rows read: 4 stored (4 created, 0 updated), 0 rejected, 4 consent changes\n',
    });
    // Enough contacts for several export pages (1,000 each).
    const bulk = a.path('bulk.csv');
    const statuses = ['yes', 'no', 'pending', ''];
    writeFileSync(bulk, `email,first_name,n,topic.newsletter\n${Array.from({ length: 2500 }, (_, i) => `p${i}@pages.example,P ${i},${i},${statuses[i % 4]}\n`).join('')}`);
    expect(await a.run(['contacts', 'import', '--quiet', bulk])).toMatchObject({ code: 0, stdout: '2500 rows read: 2500 stored (2500 created, 0 updated), 0 rejected, 1875 consent changes\n' });

    const file = a.path('export-a.csv');
    expect(await a.run(['contacts', 'export', '--out', file])).toEqual({ code: 0, stdout: '', stderr: '' });
    const exported = readFileSync(file, 'utf8');
    // Standard output carries exactly the same bytes.
    expect((await a.run(['contacts', 'export'])).stdout).toBe(exported);

    const rows = parse(exported, { columns: true }) as Record<string, string>[];
    expect(exported.split('\n')[0]).toBe(HEADER);
    expect(rows).toHaveLength(2504);
    const sara = rows[0]!;
    expect(sara).toMatchObject({
      email: 'Sara@bücher.example',
      first_name: 'سارا',
      last_name: 'رضایی',
      locale: 'fa-IR',
      timezone: 'Asia/Tehran',
      currency: 'IRT',
      phone: '+989121234567',
      'external_id.crm': 'C-1',
      'external_id.woocommerce': '1042',
      'topic.newsletter': 'subscribed',
      'topic.promotions': 'unsubscribed',
    });
    expect(JSON.parse(sara.attributes!)).toEqual({ plan: 'gold', visits: 12, vip: true, zip: '02134', tags: ['a', 'b'], nested: { k: 'v, with "quotes" and comma' } });
    expect(sara.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(rows[1]).toMatchObject({ email: "o'brien@rt.example", first_name: 'Seán "the bold"', 'topic.newsletter': 'pending', 'topic.promotions': '' });
    expect(JSON.parse(rows[2]!.attributes!)).toEqual({ note: 'first line\nsecond line, with comma' });
    expect(rows[3]).toMatchObject({ email: 'plain@rt.example', first_name: '', attributes: '', 'topic.newsletter': '' });
    expect(rows[2503]).toMatchObject({ email: 'p2499@pages.example', 'topic.newsletter': '' });

    const imported = await b.run(['contacts', 'import', '--quiet', file]);
    expect(imported).toEqual({ code: 0, stdout: '2504 rows read: 2504 stored (2504 created, 0 updated), 0 rejected, 1879 consent changes\n', stderr: '' });
    const again = (await b.run(['contacts', 'export'])).stdout;
    expect(withoutTimestamps(again)).toEqual(withoutTimestamps(exported));
  });

  it('re-imports its own export as a no-op: every row updated, no consent changes, same data', async () => {
    const file = a.path('export-a2.csv');
    await a.run(['contacts', 'export', '--out', file]);
    const before = readFileSync(file, 'utf8');
    const r = await a.run(['contacts', 'import', '--quiet', file]);
    expect(r).toEqual({ code: 0, stdout: '2504 rows read: 2504 stored (0 created, 2504 updated), 0 rejected, 0 consent changes\n', stderr: '' });
    const after = (await a.run(['contacts', 'export'])).stdout;
    expect(withoutTimestamps(after)).toEqual(withoutTimestamps(before));
    // created_at survives; only updated_at moves.
    const createdAt = (csv: string) => (parse(csv) as string[][]).map((row) => row[row.length - 2]);
    expect(createdAt(after)).toEqual(createdAt(before));
  });

  it('refuses an --out path it cannot write, before touching the database (exit 2)', async () => {
    const r = await a.run(['contacts', 'export', '--out', a.path('no/such/dir/out.csv')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --out: cannot write ".*no\/such\/dir\/out\.csv": ENOENT/);
  });
});
