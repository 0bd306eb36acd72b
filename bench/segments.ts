// npm run bench:segments [-- --scale 0.1] [--runs 3]
// Segments and RFM at store scale: 1,000,000 contacts, 5,000,000 orders, 2,000,000 events (times
// --scale), generated in the database (bench/segments-seed.ts). Measures RFM for every buyer, the
// brief's three preset segments and a 6-condition segment, each compiled query beside a
// hand-written SQL query for the same segment run in the same process on the same data (both
// return every member id through the same driver; the member counts must agree), then the first
// materialisation of each, and an incremental refresh after 10,000 new orders. SQLite always;
// PostgreSQL too when CHAPAR_BENCH_PG=postgres://… is set (a fresh schema, dropped at the end).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { openDatabase, type Database } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import type { DialectName } from '../src/db/dialect.ts';
import { selectSegmentContactIds } from '../src/db/queries/segment-sql.ts';
import { segmentPresets } from '../src/domain/segment-presets.ts';
import type { SegmentNode } from '../src/domain/segments.ts';
import { systemClock } from '../src/lib/clock.ts';
import type { ServiceContext } from '../src/services/context.ts';
import { refreshRfm } from '../src/services/rfm.ts';
import { refreshSegment } from '../src/services/segment-refresh.ts';
import { createSegment } from '../src/services/segments.ts';
import { describeMachine } from './machine-info.ts';
import { addNewOrders, DAY, seedStore } from './segments-seed.ts';

const argOf = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SCALE = argOf('--scale', 1);
const RUNS = argOf('--runs', 3);
const SIZES = { contacts: Math.round(1_000_000 * SCALE), orders: Math.round(5_000_000 * SCALE), events: Math.round(2_000_000 * SCALE) };
const NEW_ORDERS = 10_000;
const CART_VALUE = 5_000_000;
const log = (line: string) => process.stdout.write(`${line}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const SIX: SegmentNode = {
  all: [
    { type: 'attribute', field: 'attributes.city', op: 'equals', value: 'Tehran' },
    { type: 'topic', topic: 'newsletter', status: 'subscribed' },
    { type: 'order_count', op: 'gte', value: 2 },
    { type: 'total_spent', op: 'gte', value: 5_000_000 },
    { type: 'event', event: 'viewed_product', window: { within: '30d' } },
    { not: { type: 'email', action: 'opened', window: { within: '60d' } } },
  ],
};

/** The same segments written by hand, as someone who knows the schema would. */
function baselines(dialect: DialectName, now: number) {
  const city = dialect === 'postgres' ? sql`c.attributes ->> 'city'` : sql`json_extract(c.attributes, '$.city')`;
  return {
    'high-clv-recent': sql<{ id: number }>`SELECT contact_id AS id FROM contact_metrics WHERE rfm_monetary >= 5 AND last_order_at >= ${now - 30 * DAY}`,
    'one-time-lapsed': sql<{ id: number }>`SELECT contact_id AS id FROM contact_metrics WHERE orders_count = 1 AND last_order_at < ${now - 90 * DAY}`,
    'abandoned-cart-high': sql<{ id: number }>`SELECT DISTINCT contact_id AS id FROM carts WHERE status = 'abandoned' AND value > ${CART_VALUE} AND contact_id IS NOT NULL`,
    'six-conditions': sql<{ id: number }>`SELECT c.id FROM contacts c
      JOIN contact_metrics m ON m.contact_id = c.id
      JOIN subscriptions s ON s.contact_id = c.id AND s.status = 'subscribed' AND s.topic_id = (SELECT id FROM topics WHERE key = 'newsletter')
      WHERE ${city} = 'Tehran' AND m.orders_count >= 2 AND m.total_spent >= 5000000
        AND EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id AND e.type = 'viewed_product' AND e.occurred_at >= ${now - 30 * DAY})
        AND NOT EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id AND e.type = 'email_opened' AND e.machine IS NULL AND e.occurred_at >= ${now - 60 * DAY})`,
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function openBenchDatabase(dialect: DialectName): Promise<{ db: Database; cleanup(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'chapar-bench-segments-'));
    const db = openDatabase({ url: join(dir, 'bench.db') });
    return { db, cleanup: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const url = process.env.CHAPAR_BENCH_PG!;
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const db = openDatabase({ url, schema, poolSize: 4 });
  return {
    db,
    async cleanup() {
      await db.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

async function benchDialect(dialect: DialectName): Promise<void> {
  log(`\n## ${dialect}: ${SIZES.contacts.toLocaleString('en-US')} contacts, ${SIZES.orders.toLocaleString('en-US')} orders, ${SIZES.events.toLocaleString('en-US')} events\n`);
  const { db, cleanup } = await openBenchDatabase(dialect);
  try {
    await migrateToLatest(db);
    const seedAt = Date.now();
    log('Generating:');
    const g = await timed(() => seedStore(db, SIZES, seedAt, log));
    log(`  total ${secs(g.ms)}\n`);
    const ctx = { db, clock: systemClock, logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }, pino.destination(2)), publicUrl: 'http://localhost' } as unknown as ServiceContext;

    const rfm = await timed(() => refreshRfm(ctx));
    log(`RFM for all buyers: **${secs(rfm.ms)}** (${rfm.value.scored.toLocaleString('en-US')} scored; groups ${JSON.stringify(rfm.value.groups)})\n`);

    const now = Date.now();
    const defs: Record<string, SegmentNode> = Object.fromEntries(segmentPresets({ abandonedCartValue: CART_VALUE, currency: 'IRT' }).map((p) => [p.key, p.definition]));
    defs['six-conditions'] = SIX;
    const hand = baselines(dialect, now);
    log('| segment | members | compiled query | hand-written query | ratio | first materialisation (members + events) |');
    log('|---|--:|--:|--:|--:|--:|');
    for (const [key, def] of Object.entries(defs)) {
      const compiled: number[] = [];
      const baseline: number[] = [];
      let counts: [number, number] = [0, 0];
      for (let r = 0; r < RUNS; r++) {
        // Alternate which goes first, so neither always gets the warmer cache.
        const c = async () => {
          const x = await timed(() => selectSegmentContactIds(db, def, now).execute());
          compiled.push(x.ms);
          counts[0] = x.value.length;
        };
        const b = async () => {
          const x = await timed(() => hand[key as keyof typeof hand].execute(db.k));
          baseline.push(x.ms);
          counts[1] = x.value.rows.length;
        };
        if (r % 2 === 0) await c().then(b);
        else await b().then(c);
      }
      if (counts[0] !== counts[1]) throw new Error(`${key}: compiled found ${counts[0]} members, hand-written ${counts[1]}`);
      const m = await timed(() => createSegment(ctx, { key, name: key, definition: def }));
      log(`| ${key} | ${counts[0].toLocaleString('en-US')} | ${secs(median(compiled))} | ${secs(median(baseline))} | **${(median(compiled) / median(baseline)).toFixed(2)}×** | ${secs(m.ms)} |`);
    }

    // The "changed since" indexes the incremental refresh scans are in the migration (006).
    await incremental(ctx, db, 0, "with the migration's \"changed since\" indexes");
  } finally {
    await cleanup();
  }
}

async function incremental(ctx: ServiceContext, db: Database, offset: number, label: string): Promise<void> {
  await addNewOrders(db, NEW_ORDERS, offset, SIZES.contacts, Date.now());
  log(`\nIncremental refresh after ${NEW_ORDERS.toLocaleString('en-US')} new orders (${label}):\n`);
  log('| segment | incremental | entered | exited | full refresh (for comparison) |');
  log('|---|--:|--:|--:|--:|');
  for (const key of ['high-clv-recent', 'one-time-lapsed', 'abandoned-cart-high', 'six-conditions']) {
    const inc = await timed(() => refreshSegment(ctx, key, 'incremental'));
    const full = await timed(() => refreshSegment(ctx, key, 'full'));
    log(`| ${key} | **${secs(inc.ms)}** | ${inc.value.entered} | ${inc.value.exited} | ${secs(full.ms)} (${full.value.entered} + / ${full.value.exited} −) |`);
  }
}

const machine = describeMachine();
log(`# bench:segments, scale ${SCALE}, ${new Date().toISOString()}\n\nMachine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB; Node ${machine.node}, SQLite ${machine.sqlite}; ${machine.git}`);
await benchDialect('sqlite');
if (process.env.CHAPAR_BENCH_PG) await benchDialect('postgres');
