// npm run bench:tracking-writer [-- --groups 2000,5000,20000] [--prefill N] [--hits N]
// The tracking writer alone, without HTTP: what writing a click costs the SQLite writer thread
// (services/tracking-writes.ts, as workers/tracking-thread.ts runs it) by group size. bench:events
// shows the same cost as "on others" beside the click run, mixed with everything else the machine
// does; this isolates it, so a change to the writer can be compared in seconds. The database is
// seeded as bench:events seeds it (2,000 contacts, one sent message each) and first filled with
// `--prefill` clicks (default 400,000: about what one bench:events click run leaves), since a
// hit's cost grows with the contact index it lands in. The groups take turns, round after round.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config/config.ts';
import { openDatabase, type Database } from '../src/db/database.ts';
import { MachineDetector } from '../src/domain/machine-hits.ts';
import { readTrackingHits, TrackingHitBytes, type TrackingHitBatch } from '../src/services/tracking-hit-bytes.ts';
import { SentTimes, writeTrackingHits } from '../src/services/tracking-writes.ts';
import { seedTrackedMessages } from './events-seed.ts';
import { describeMachine, loadAverage } from './machine-info.ts';

const { values: args } = parseArgs({ options: { groups: { type: 'string', default: '2000,5000,20000' }, prefill: { type: 'string', default: '400000' }, hits: { type: 'string', default: '40000' }, rounds: { type: 'string', default: '5' } } });
const GROUPS = args.groups!.split(',').map(Number);
const PREFILL = Number(args.prefill);
const HITS = Number(args.hits);
const ROUNDS = Number(args.rounds);

const info = describeMachine();
console.log(`bench:tracking-writer  ${info.date}  node ${info.node}  ${info.cpuModel} × ${info.cores}  sqlite ${info.sqlite}  git ${info.git}  load ${loadAverage()}`);
console.log(`${fmt(PREFILL)} clicks already stored, then ${fmt(HITS)} clicks a timed run in groups of ${GROUPS.map(fmt).join(', ')}; ${ROUNDS} rounds (median shown)\n`);

const dir = mkdtempSync(join(tmpdir(), 'chapar-bench-writer-'));
try {
  const env = { ...process.env, CHAPAR_DATA_DIR: join(dir, 'seed'), CHAPAR_SECRET: randomBytes(32).toString('base64'), PORT: '0', CHAPAR_PUBLIC_URL: 'http://127.0.0.1:1' };
  const app = await createApp(loadConfig(env), { logger: pino({ level: 'silent' }), env });
  const seeded = await seedTrackedMessages(app, 2000);
  await app.close();
  // The message each click link names, and its contact: /c/<contact>/<ref>/…
  const links = seeded.clicks.map((c) => new URL(c).pathname.split('/')).map((p) => ({ contactId: Number(p[2]), ref: p[3]! }));

  let at = Date.now();
  const group = (n: number): TrackingHitBatch => {
    const bytes = new TrackingHitBytes();
    for (let i = 0; i < n; i++) {
      const link = links[(Math.random() * links.length) | 0]!;
      bytes.push({ kind: 'clicked', ...link, url: `https://shop.example/products/item-${link.contactId}?utm_source=chapar&utm_medium=email&utm_campaign=black-friday`, ip: `198.18.${(i >> 8) & 255}.${i & 255}`, userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15', at: at++ });
    }
    return bytes.take();
  };
  // As the writer thread opens it (workers/tracking-thread.ts).
  const open = (path: string): Database => {
    const db = openDatabase({ url: path });
    db.sqlite!.pragma('foreign_keys = OFF');
    return db;
  };
  const write = (db: Database, detector: MachineDetector, sent: SentTimes, batch: TrackingHitBatch) => writeTrackingHits(db, detector, readTrackingHits(batch), sent);

  const seedDb = open(join(dir, 'seed', 'chapar.db'));
  for (let done = 0; done < PREFILL; done += 5000) await write(seedDb, new MachineDetector(), new SentTimes(), group(Math.min(5000, PREFILL - done)));
  await seedDb.close();

  const results = new Map<number, number[]>(GROUPS.map((g) => [g, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const size of GROUPS) {
      // Each run on a fresh copy of the prefilled database: every group size starts from the same index.
      const path = join(dir, `run-${round}-${size}.db`);
      cpSync(join(dir, 'seed', 'chapar.db'), path);
      const db = open(path);
      const detector = new MachineDetector();
      const sent = new SentTimes();
      // Made before the clock starts: on the server, the thread that answers readers makes them.
      const batches = Array.from({ length: Math.ceil(HITS / size) }, () => group(size));
      const started = performance.now();
      for (const b of batches) await write(db, detector, sent, b);
      results.get(size)!.push(((performance.now() - started) * 1000) / (batches.length * size));
      await db.close();
      rmSync(path, { force: true });
      rmSync(`${path}-wal`, { force: true });
      rmSync(`${path}-shm`, { force: true });
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const first = median(results.get(GROUPS[0]!)!);
  for (const [size, runs] of results) {
    const m = median(runs);
    console.log(`groups of ${fmt(size).padStart(6)}  ${m.toFixed(2).padStart(6)} µs a click  (${(first / m).toFixed(2)}× groups of ${fmt(GROUPS[0]!)})  runs ${runs.map((x) => x.toFixed(1)).join(' ')}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en');
}
