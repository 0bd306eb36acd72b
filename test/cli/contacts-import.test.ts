import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { selectContacts } from '../../src/db/queries/contacts.ts';
import type { Contact } from '../../src/domain/contacts.ts';
import { consentHistory, topicStatuses } from '../../src/services/subscriptions.ts';
import { openTestCli, type TestCli } from '../helpers/cli.ts';
import { DIALECTS } from '../helpers/databases.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/csv/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);

async function contactByEmail(db: Db, email: string): Promise<Contact | undefined> {
  const key = email.toLowerCase();
  return (await selectContacts(db, { emailPrefix: key, limit: 5 })).find((c) => c.email?.toLowerCase() === key);
}

async function countContacts(db: Db, domain: string): Promise<number> {
  const r = await db.k.selectFrom('contacts').select(sql<number>`count(*)`.as('n')).where('emailDomain', '=', domain).executeTakeFirstOrThrow();
  return Number(r.n);
}

function readRejects(file: string): { line: number; reason: string }[] {
  const rows = parse(readFileSync(file), { columns: true }) as { line: string; reason: string }[];
  return rows.map((r) => ({ line: Number(r.line), reason: r.reason }));
}

const summary = (rows: number, stored: number, created: number, updated: number, rejected: number, consent: number) =>
  `${rows} rows read: ${stored} stored (${created} created, ${updated} updated), ${rejected} rejected, ${consent} consent changes\n`;

// Every case runs with parsing in the writing thread and in a worker thread (--threads 2; the
// default for big files and standard input): both must store, reject and stop alike.
const MODES = DIALECTS.flatMap((dialect) => (['1', '2'] as const).map((threads) => [dialect, threads] as const));

describe.each(MODES)('chapar contacts import on %s, %s thread(s)', (dialect, threads) => {
  let cli: TestCli;
  const run = (args: string[], stdin?: Readable) =>
    cli.run(args[0] === 'contacts' && args[1] === 'import' ? [...args.slice(0, 2), '--threads', threads, ...args.slice(2)] : args, stdin);
  beforeAll(async () => {
    cli = await openTestCli(dialect);
    expect((await run(['topics', 'create', 'newsletter', '--name', 'Weekly newsletter'])).code).toBe(0);
    expect((await run(['topics', 'create', 'promotions', '--name', 'Promotions'])).code).toBe(0);
  });
  afterAll(async () => cli.close());

  it('imports a good file: counts, normalised fields, typed attributes, external ids; progress only on stderr', async () => {
    const r = await run(['contacts', 'import', fixture('good.csv')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(summary(3, 3, 3, 0, 0, 0));
    expect(r.stderr).toMatch(/100\.0% 3 rows/);

    const sara = await contactByEmail(cli.db, 'sara@bücher.example');
    expect(sara).toMatchObject({
      email: 'Sara@bücher.example',
      firstName: 'Sara',
      lastName: 'Rezaei',
      locale: 'fa-IR',
      timezone: 'Asia/Tehran',
      currency: 'IRT',
      phone: '+989121234567',
      externalIds: { woocommerce: '1042' },
    });
    expect(sara!.attributes).toEqual({ plan: 'gold', visits: 12, vip: true, zip: '02134', tier: 2, tags: ['a', 'b'] });
    const ali = await contactByEmail(cli.db, 'ali@good.example');
    expect(ali).toMatchObject({ firstName: 'Ali', lastName: null, locale: 'en-US', timezone: null, currency: 'USD', phone: null, externalIds: { woocommerce: '1043' } });
    expect(ali!.attributes).toEqual({ plan: 'silver', visits: 3.5, vip: false });
    const mina = await contactByEmail(cli.db, 'mina@good.example');
    expect(mina).toMatchObject({ firstName: 'Mina, the "Great"', lastName: 'Karimi', locale: 'de', timezone: 'Europe/Berlin', currency: 'EUR', attributes: {}, externalIds: {} });
    // Without topic columns nothing is subscribed and nothing is logged.
    expect(await topicStatuses(cli.db, sara!.id)).toEqual({});
    expect(await consentHistory(cli.db, sara!.id)).toEqual([]);
  });

  it('recognises common header spellings and ignores columns without a name', async () => {
    const r = await run(['contacts', 'import', '--quiet', fixture('aliases.csv')]);
    expect(r).toMatchObject({ code: 0, stdout: summary(1, 1, 1, 0, 0, 0), stderr: '' });
    const c = await contactByEmail(cli.db, 'alias@alias.example');
    expect(c).toMatchObject({ firstName: 'Al', lastName: 'Ias', phone: '09123456789', locale: 'fa', timezone: 'Asia/Tehran' });
    expect(c!.attributes).toEqual({ plan: 'gold' });
  });

  it('rejects bad rows with their line number and reason, stores the good ones (padding cells allowed), and exits 3', async () => {
    const rejects = cli.path('mixed-rejects.csv');
    const r = await run(['contacts', 'import', '--quiet', '--rejects', rejects, fixture('mixed.csv')]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(summary(12, 5, 5, 0, 7, 2));
    expect(r.stderr).toBe('');
    const rejected = readRejects(rejects);
    expect(rejected.map((x) => x.line)).toEqual([3, 7, 8, 9, 10, 12, 14]);
    expect(rejected[0]!.reason).toBe('email: "not-an-address" is not a valid email address: it has no @');
    expect(rejected[1]!.reason).toMatch(/^locale: "xx-!!" is not a BCP 47 locale/);
    expect(rejected[2]!.reason).toBe('has 2 fields but the header has 6');
    expect(rejected[3]!.reason).toBe('topic.newsletter: "maybe" is not a status (use subscribed, unsubscribed, pending, yes or no)');
    // A record spanning lines 10-11 is reported at the line it starts on.
    expect(rejected[4]!.reason).toMatch(/^email: "multi@bad" is not a valid email address/);
    expect(rejected[5]!.reason).toBe('email: is empty');
    expect(rejected[6]!.reason).toBe('external_id.shop: "77" is given to two addresses in this batch');

    expect(await countContacts(cli.db, 'mixed.example')).toBe(5);
    for (const email of ['bad-locale@mixed.example', 'too-few@mixed.example', 'bad-topic@mixed.example', 'dup-ext@mixed.example']) {
      expect(await contactByEmail(cli.db, email)).toBeUndefined();
    }
    const ok2 = await contactByEmail(cli.db, 'ok2@mixed.example');
    expect(ok2!.attributes).toEqual({ notes: 'a note\nspanning\nlines' });
    expect((await contactByEmail(cli.db, 'ok4@mixed.example'))!.attributes).toEqual({ notes: 'x,y' });
    // Trailing empty cells beyond the header's columns are padding, not a wrong field count.
    expect(await contactByEmail(cli.db, 'ok5@mixed.example')).toMatchObject({ firstName: 'Ok Five', attributes: {} });
    const ok3 = await contactByEmail(cli.db, 'ok3@mixed.example');
    expect(ok3).toMatchObject({ locale: 'fa', externalIds: { shop: '77' } });
    expect(await topicStatuses(cli.db, ok3!.id)).toEqual({ newsletter: 'unsubscribed' });
  });

  it('counts lines the same way in a CRLF file (CRLF inside quoted fields too) and lists rejects on stderr without --rejects', async () => {
    const crlf = cli.path('mixed-crlf.csv');
    writeFileSync(crlf, readFileSync(fixture('mixed.csv'), 'utf8').replace(/\n/g, '\r\n'));
    const r = await run(['contacts', 'import', '--quiet', crlf]);
    expect(r.code).toBe(3);
    // Every good row now updates the contact stored by the previous test.
    expect(r.stdout).toBe(summary(12, 5, 0, 5, 7, 0));
    expect(r.stderr.split('\n').filter(Boolean).map((l) => Number(/^line (\d+): /.exec(l)?.[1]))).toEqual([3, 7, 8, 9, 10, 12, 14]);
    expect((await contactByEmail(cli.db, 'ok2@mixed.example'))!.attributes).toEqual({ notes: 'a note\r\nspanning\r\nlines' });
  });

  it('maps headers with --map, reads ";" with a BOM and CRLF, and reports lines after a multi-line field correctly', async () => {
    const rejects = cli.path('mapped-rejects.csv');
    const args = ['contacts', 'import', '--quiet', '--delimiter', ';', '--rejects', rejects, '--map', 'E-Mail Adresse=email', '--map', 'Vorname=first_name', '--map', 'Kundennummer=external_id.shop', '--map', 'Newsletter=topic.newsletter', '--map', 'Intern=ignore'];
    const r = await run([...args, fixture('mapped-semicolon-crlf-bom.csv')]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(summary(6, 4, 4, 0, 2, 2));
    expect(readRejects(rejects).map((x) => x.line)).toEqual([4, 8]);
    await expectMapped(cli.db, 'mapped.example');
  });

  it('reads standard input with "-", whatever the chunk boundaries (inside the BOM, a CRLF, a multi-byte character)', async () => {
    const bytes = Buffer.from(readFileSync(fixture('mapped-semicolon-crlf-bom.csv'), 'latin1').replace(/mapped\.example/g, 'stdin.example').replace(/K-(\d)/g, 'T-$1'), 'latin1');
    const chunks: Buffer[] = [];
    for (let at = 0, size = 1; at < bytes.length; at += size, size = (size % 7) + 1) chunks.push(bytes.subarray(at, at + size));
    const args = ['contacts', 'import', '--quiet', '--delimiter', ';', '--map', 'E-Mail Adresse=email', '--map', 'Vorname=first_name', '--map', 'Kundennummer=external_id.shop', '--map', 'Newsletter=topic.newsletter', '--map', 'Intern=ignore', '-'];
    const r = await run(args, Readable.from(chunks));
    // The message carries stderr: a stop part way (exit 1) says why there.
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe(summary(6, 4, 4, 0, 2, 2));
    expect(r.stderr).toMatch(/^line 4: email: "kaputt"/m);
    expect(r.stderr).toMatch(/^line 8: email: "emil@mapped"/m);
    await expectMapped(cli.db, 'stdin.example', 'T');
  });

  it('reads a tab-delimited file with --delimiter tab', async () => {
    const file = cli.path('tabs.csv');
    writeFileSync(file, 'email\tfirst_name\tcity\ntab@tab.example\tTabby\tShiraz, Fars\n');
    const r = await run(['contacts', 'import', '--quiet', '--delimiter', 'tab', file]);
    expect(r).toMatchObject({ code: 0, stdout: summary(1, 1, 1, 0, 0, 0) });
    expect(await contactByEmail(cli.db, 'tab@tab.example')).toMatchObject({ firstName: 'Tabby', attributes: { city: 'Shiraz, Fars' } });
  });

  it('updates existing contacts (any case), keeps stored values for empty cells, and counts created vs updated', async () => {
    const first = await run(['contacts', 'import', '--quiet', fixture('update-1.csv')]);
    expect(first).toMatchObject({ code: 0, stdout: summary(2, 2, 2, 0, 0, 0) });
    const before = await contactByEmail(cli.db, 'amir@upd.example');
    // A file that repeats a new address creates one contact: the second row updates it.
    const second = await run(['contacts', 'import', '--quiet', fixture('update-2.csv')]);
    expect(second).toMatchObject({ code: 0, stdout: summary(3, 3, 1, 2, 0, 0) });
    expect(await countContacts(cli.db, 'upd.example')).toBe(3);
    const amir = await contactByEmail(cli.db, 'amir@upd.example');
    expect(amir).toMatchObject({ id: before!.id, email: 'Amir@upd.example', firstName: 'Amir', lastName: 'Ahmadi-Rad', externalIds: { shop: 'S-1' }, createdAt: before!.createdAt });
    expect(amir!.attributes).toEqual({ plan: 'platinum', city: 'Tehran', points: 10 });
    expect(amir!.updatedAt).toBeGreaterThan(before!.updatedAt);
    expect(await contactByEmail(cli.db, 'bita@upd.example')).toMatchObject({ firstName: 'Bita', attributes: { plan: 'silver' } });
    expect(await contactByEmail(cli.db, 'cyrus@upd.example')).toMatchObject({ firstName: 'Cyrus', lastName: 'Cyrusi', externalIds: { shop: 'S-3' } });
  });

  it('records topic statuses and consent evidence only from topic columns, and logs only real changes', async () => {
    const wording = ['--consent-wording', 'Send me the weekly newsletter', '--consent-version', 'v3'];
    const r = await run(['contacts', 'import', '--quiet', ...wording, fixture('consent.csv')]);
    expect(r).toMatchObject({ code: 0, stdout: summary(5, 5, 5, 0, 0, 5) });
    const ids: Record<string, number> = {};
    for (const name of ['sub', 'yes', 'no', 'pend', 'none']) ids[name] = (await contactByEmail(cli.db, `${name}@consent.example`))!.id;
    expect(await topicStatuses(cli.db, ids.sub!)).toEqual({ newsletter: 'subscribed' });
    expect(await topicStatuses(cli.db, ids.yes!)).toEqual({ newsletter: 'subscribed', promotions: 'unsubscribed' });
    expect(await topicStatuses(cli.db, ids.no!)).toEqual({ newsletter: 'unsubscribed' });
    expect(await topicStatuses(cli.db, ids.pend!)).toEqual({ newsletter: 'pending' });
    expect(await topicStatuses(cli.db, ids.none!)).toEqual({});
    const evidence = { source: 'import', wording: 'Send me the weekly newsletter', wordingVersion: 'v3', ip: null, userAgent: null };
    expect(await consentHistory(cli.db, ids.sub!)).toMatchObject([{ topicKey: 'newsletter', action: 'subscribe', status: 'subscribed', email: 'sub@consent.example', ...evidence }]);
    expect(await consentHistory(cli.db, ids.yes!)).toMatchObject([
      { topicKey: 'newsletter', action: 'subscribe', status: 'subscribed', ...evidence },
      { topicKey: 'promotions', action: 'unsubscribe', status: 'unsubscribed', ...evidence },
    ]);
    expect(await consentHistory(cli.db, ids.no!)).toMatchObject([{ action: 'unsubscribe', status: 'unsubscribed', ...evidence }]);
    expect(await consentHistory(cli.db, ids.pend!)).toMatchObject([{ action: 'subscribe', status: 'pending', ...evidence }]);
    expect(await consentHistory(cli.db, ids.none!)).toEqual([]);

    // The same statuses again: nothing changes, nothing is logged.
    const again = await run(['contacts', 'import', '--quiet', ...wording, fixture('consent.csv')]);
    expect(again).toMatchObject({ code: 0, stdout: summary(5, 5, 0, 5, 0, 0) });
    // A file without topic columns records no consent, even with --consent-wording.
    const profile = await run(['contacts', 'import', '--quiet', ...wording, fixture('consent-profile.csv')]);
    expect(profile).toMatchObject({ code: 0, stdout: summary(2, 2, 0, 2, 0, 0) });
    expect(await contactByEmail(cli.db, 'yes@consent.example')).toMatchObject({ firstName: 'Yasmin', attributes: { plan: 'silver' } });
    expect(await topicStatuses(cli.db, ids.yes!)).toEqual({ newsletter: 'subscribed', promotions: 'unsubscribed' });
    for (const name of ['sub', 'yes', 'no', 'pend', 'none']) {
      expect(await consentHistory(cli.db, ids[name]!)).toHaveLength(name === 'yes' ? 2 : name === 'none' ? 0 : 1);
    }

    // Real changes: pending→subscribed is a confirmation, unsubscribed→subscribed a resubscribe; a
    // consent_wording cell is the evidence for its row. The column prefix is matched in any case.
    const change = await run(['contacts', 'import', '--quiet', fixture('consent-change.csv')]);
    expect(change).toMatchObject({ code: 0, stdout: summary(2, 2, 0, 2, 0, 2) });
    expect((await consentHistory(cli.db, ids.pend!))[1]).toMatchObject({ action: 'confirm', status: 'subscribed', source: 'import', wording: 'I confirmed my address by email', wordingVersion: null });
    expect((await consentHistory(cli.db, ids.no!))[1]).toMatchObject({ action: 'resubscribe', status: 'subscribed', source: 'import', wording: null });
  });

  it('refuses a file with an unknown topic column, naming it, and stores nothing (exit 2)', async () => {
    const r = await run(['contacts', 'import', '--quiet', fixture('unknown-topic.csv')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('import refused: line 1 (header): unknown topic: nosuch (known topics: newsletter, promotions)');
    expect(r.stderr).toContain('"topic.nosuch"');
    expect(r.stderr).toContain('nothing was stored.');
    expect(await contactByEmail(cli.db, 'unknown@consent.example')).toBeUndefined();
  });

  it('refuses header and option problems before storing anything (exit 2)', async () => {
    const noEmail = await run(['contacts', 'import', '--quiet', fixture('no-email.csv')]);
    expect(noEmail.code).toBe(2);
    expect(noEmail.stderr).toContain('import refused: line 1 (header): no email column: the header is "name", "phone"; name one "email" or map it');
    expect(noEmail.stderr).toContain('nothing was stored.');

    const unmatched = await run(['contacts', 'import', '--quiet', '--map', 'Vorname=first_name', fixture('good.csv')]);
    expect(unmatched.code).toBe(2);
    expect(unmatched.stderr).toContain('the mapping "Vorname=first_name" names no column of this file');
    const badTarget = await run(['contacts', 'import', '--quiet', '--map', 'plan=nonsense', fixture('good.csv')]);
    expect(badTarget.code).toBe(2);
    expect(badTarget.stderr).toContain('column 8 ("plan"): "nonsense" is not a field');

    const empty = cli.path('empty.csv');
    writeFileSync(empty, '');
    expect(await run(['contacts', 'import', '--quiet', empty])).toMatchObject({ code: 2, stderr: expect.stringContaining('the file is empty') });
    expect(await run(['contacts', 'import', '--quiet', cli.path('no-such.csv')])).toMatchObject({ code: 2, stderr: expect.stringContaining(`cannot read "${cli.path('no-such.csv')}": no such file`) });
    expect(await run(['contacts', 'import', '--quiet', '--map', 'nonsense', empty])).toMatchObject({ code: 2, stderr: 'error: --map: "nonsense" is not HEADER=field\n' });
    expect(await run(['contacts', 'import', '--quiet', '--delimiter', ';;', empty])).toMatchObject({ code: 2, stderr: expect.stringContaining('--delimiter') });
    expect(await run(['contacts', 'import', '--quiet', '--rejects', cli.path('no/such/dir/r.csv'), fixture('good.csv')])).toMatchObject({ code: 2, stderr: expect.stringContaining('--rejects: cannot write') });
    expect(await run(['contacts', 'import', '--quiet'])).toMatchObject({ code: 2, stderr: expect.stringContaining("missing required argument 'file'") });
    expect(await countContacts(cli.db, 'good.example')).toBe(2);
  });

  it('stops at bytes that are not UTF-8, past several batches, keeping exactly the rows before them (exit 1)', async () => {
    const file = cli.path('latin1.csv');
    const rows = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}@latin.example,Name ${i},${'padding '.repeat(5)}\n`).join('');
    // ~150 KB: the bad byte sits in the third 64 KB read, after two full batches of 1,000 rows.
    const before = Buffer.from(`email,first_name,notes\n${rows('l', 2500)}`);
    writeFileSync(file, Buffer.concat([before, Buffer.from('jose@latin.example,José,x\n', 'latin1'), Buffer.from(rows('after', 100))]));
    const r = await run(['contacts', 'import', '--quiet', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(summary(2500, 2500, 2500, 0, 0, 0));
    expect(r.stderr).toBe(
      `import stopped: line 2502 is not valid UTF-8 (byte offset ${before.length + 'jose@latin.example,Jos'.length}, after "jose@latin.example,Jos"): ` +
        'the file was probably saved in another encoding such as Windows-1252; save it as UTF-8 and import again\n2500 rows were stored before it stopped.\n',
    );
    expect(await countContacts(cli.db, 'latin.example')).toBe(2500);
    expect(await contactByEmail(cli.db, 'l2499@latin.example')).toMatchObject({ firstName: 'Name 2499', attributes: { notes: `${'padding '.repeat(5)}` } });
    expect(await contactByEmail(cli.db, 'jose@latin.example')).toBeUndefined();

    // A character cut by the end of the file is reported on its line too.
    const cut = cli.path('cut.csv');
    writeFileSync(cut, Buffer.concat([Buffer.from('email,first_name\nzara@cut.example,Zara\nzoe@cut.example,Zo'), Buffer.from([0xc3])]));
    const rc = await run(['contacts', 'import', '--quiet', cut]);
    expect(rc).toMatchObject({ code: 1, stdout: summary(1, 1, 1, 0, 0, 0) });
    expect(rc.stderr).toContain('import stopped: line 3 is not valid UTF-8');
    expect(await countContacts(cli.db, 'cut.example')).toBe(1);

    // A broken byte right at the start of a line: the record ending just before it is still stored.
    const edge = cli.path('edge.csv');
    writeFileSync(edge, Buffer.concat([Buffer.from('email,first_name\r\nbefore@edge.example,B\r\n'), Buffer.from([0xe9]), Buffer.from('\r\nafter@edge.example,A\r\n')]));
    const re = await run(['contacts', 'import', '--quiet', edge]);
    expect(re).toMatchObject({ code: 1, stdout: summary(1, 1, 1, 0, 0, 0) });
    expect(re.stderr).toContain('import stopped: line 3 is not valid UTF-8 (byte offset 41)');
    expect(await countContacts(cli.db, 'edge.example')).toBe(1);
  });

  it('stops at a quoted field that is never closed, keeping the rows before it (exit 1)', async () => {
    const file = cli.path('unclosed.csv');
    const rows = Array.from({ length: 1500 }, (_, i) => `q${i}@quote.example,"Name ${i}"\n`).join('');
    writeFileSync(file, `email,first_name\n${rows}open@quote.example,"never closed\nmore text\n`);
    const r = await run(['contacts', 'import', '--quiet', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(summary(1500, 1500, 1500, 0, 0, 0));
    expect(r.stderr).toBe('import stopped: line 1502: a quoted field is never closed (the file ends inside it); check the quotes on that line\n1500 rows were stored before it stopped.\n');
    expect(await countContacts(cli.db, 'quote.example')).toBe(1500);
    expect(await contactByEmail(cli.db, 'open@quote.example')).toBeUndefined();

    // A quote left open early would swallow the rest of the file: the record-size limit stops it at its line.
    const runaway = cli.path('runaway.csv');
    const filler = Array.from({ length: 40_000 }, (_, i) => `r${i}@runaway.example,Name ${i}\n`).join('');
    writeFileSync(runaway, `email,first_name\nfirst@runaway.example,First\n\nopen@runaway.example,"oops\n${filler}`);
    const rr = await run(['contacts', 'import', '--quiet', runaway]);
    expect(rr).toMatchObject({ code: 1, stdout: summary(1, 1, 1, 0, 0, 0) });
    expect(rr.stderr).toMatch(/^import stopped: line 4: a record is longer than 1048576 characters, so a quoted field on that line is probably never closed/);
    expect(await countContacts(cli.db, 'runaway.example')).toBe(1);
  });

  it('stops when the input fails part way, keeping the rows read before it (exit 1)', async () => {
    async function* failing() {
      yield 'email,first_name\n';
      for (let i = 0; i < 3000; i += 500) yield Array.from({ length: 500 }, (_, j) => `f${i + j}@fail.example,F ${i + j}\n`).join('');
      throw new Error('the disk went away');
    }
    const r = await run(['contacts', 'import', '--quiet', '-'], Readable.from(failing()));
    expect(r).toMatchObject({ code: 1, stdout: summary(3000, 3000, 3000, 0, 0, 0) });
    expect(r.stderr).toBe('import stopped: the file could not be read: the disk went away\n3000 rows were stored before it stopped.\n');
    expect(await countContacts(cli.db, 'fail.example')).toBe(3000);
  });

  it('counts lines right when quotes first appear after many plain batches', async () => {
    const file = cli.path('late-quotes.csv');
    const plain = (from: number, n: number) => Array.from({ length: n }, (_, i) => `p${from + i}@late.example,P ${from + i},\r\n`).join('');
    // Lines 2-12001 plain; a quoted record on lines 12002-12004; plain again; a bad address on line 12015.
    const quoted = 'quoted@late.example,"Q, the ""first""","one\r\ntwo\r\nthree"\r\n';
    writeFileSync(file, `email,first_name,notes\r\n${plain(0, 12_000)}${quoted}${plain(12_000, 10)}not-an-address,X,\r\n${plain(12_010, 5)}`);
    const r = await run(['contacts', 'import', '--quiet', file]);
    expect(r).toMatchObject({ code: 3, stdout: summary(12_017, 12_016, 12_016, 0, 1, 0) });
    expect(r.stderr).toBe('line 12015: email: "not-an-address" is not a valid email address: it has no @\n');
    expect(await contactByEmail(cli.db, 'quoted@late.example')).toMatchObject({ firstName: 'Q, the "first"', attributes: { notes: 'one\r\ntwo\r\nthree' } });
    expect(await contactByEmail(cli.db, 'p12014@late.example')).toMatchObject({ firstName: 'P 12014' });
    expect(await countContacts(cli.db, 'late.example')).toBe(12_016);
  });

  it('keeps quotes inside unquoted fields, and after a closing quote, as written', async () => {
    const file = cli.path('quotes.csv');
    writeFileSync(file, 'email,first_name,item\r\nq1@quotes.example,"Bad"x,5" TV\r\nq2@quotes.example,"say ""hi""",\r\n');
    expect(await run(['contacts', 'import', '--quiet', file])).toMatchObject({ code: 0, stdout: summary(2, 2, 2, 0, 0, 0) });
    expect(await contactByEmail(cli.db, 'q1@quotes.example')).toMatchObject({ firstName: '"Bad"x', attributes: { item: '5" TV' } });
    expect(await contactByEmail(cli.db, 'q2@quotes.example')).toMatchObject({ firstName: 'say "hi"' });
  });

  it('rejects a row with a NUL character (PostgreSQL cannot store it) instead of failing its whole batch', async () => {
    const file = cli.path('nul.csv');
    writeFileSync(file, 'email,note,external_id.shop,attributes\nn1@nul.example,fine,,\nn2@nul.example,bad\u0000note,,\nn3@nul.example,,N\u00003,\nn4@nul.example,,,"{""a"":""\\u0000""}"\nn5@nul.example,also fine,,\n');
    const r = await run(['contacts', 'import', '--quiet', file]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(summary(5, 2, 2, 0, 3, 0));
    expect(r.stderr).toBe('line 3: column 2: contains a NUL character (U+0000), which cannot be stored\nline 4: column 3: contains a NUL character (U+0000), which cannot be stored\nline 5: column 4: contains a NUL character (U+0000), which cannot be stored\n');
    expect(await countContacts(cli.db, 'nul.example')).toBe(2);
  });

  it('streams 30,000 rows through many batches, with repeated addresses across batches', async () => {
    const n = 30_000;
    async function* generate() {
      yield 'email,first_name,n,topic.newsletter\n';
      for (let i = 0; i < n; i += 500) {
        let chunk = '';
        for (let j = i; j < i + 500; j++) chunk += `u${j}@big.example,User ${j},${j},${j % 3 === 0 ? 'yes' : ''}\n`;
        yield chunk;
      }
      yield 'u5@big.example,Again 5,,\nU29999@BIG.example,Again 29999,,\n';
    }
    const r = await run(['contacts', 'import', '--quiet', '-'], Readable.from(generate()));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(summary(n + 2, n + 2, n, 2, 0, n / 3));
    expect(await countContacts(cli.db, 'big.example')).toBe(n);
    for (const i of [0, 999, 1000, 1001, 14_999, 15_000, 29_998]) {
      expect(await contactByEmail(cli.db, `u${i}@big.example`)).toMatchObject({ firstName: `User ${i}`, attributes: { n: i } });
    }
    expect(await contactByEmail(cli.db, 'u5@big.example')).toMatchObject({ firstName: 'Again 5', attributes: { n: 5 } });
    expect(await contactByEmail(cli.db, 'u29999@big.example')).toMatchObject({ firstName: 'Again 29999', attributes: { n: 29_999 } });
    const logged = await cli.db.k.selectFrom('consentLog').select(sql<number>`count(*)`.as('n')).where('email', 'like', '%@big.example').executeTakeFirstOrThrow();
    expect(Number(logged.n)).toBe(n / 3);
  });
});

/** What the mapped fixture (or its stdin copy with ids prefixed `idPrefix`) must have stored. */
async function expectMapped(db: Db, domain: string, idPrefix = 'K'): Promise<void> {
  expect(await countContacts(db, domain)).toBe(4);
  const anna = await contactByEmail(db, `anna@${domain}`);
  expect(anna).toMatchObject({ firstName: 'Anna', externalIds: { shop: `${idPrefix}-1` } });
  expect(anna!.attributes).toEqual({ stadt: 'Berlin' });
  expect(await topicStatuses(db, anna!.id)).toEqual({ newsletter: 'subscribed' });
  const bernd = await contactByEmail(db, `bernd@${domain}`);
  expect(bernd!.attributes).toEqual({ stadt: 'Köln; Innenstadt' });
  expect(await topicStatuses(db, bernd!.id)).toEqual({ newsletter: 'unsubscribed' });
  expect(await contactByEmail(db, `clara@${domain}`)).toMatchObject({ firstName: 'Clara', externalIds: { shop: `${idPrefix}-4` }, attributes: { stadt: 'München\r\nSchwabing' } });
  const dora = await contactByEmail(db, `dora@${domain}`);
  expect(dora).toMatchObject({ firstName: 'Dora', externalIds: {}, attributes: {} });
  expect(await topicStatuses(db, dora!.id)).toEqual({});
}
