import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateContactsCsv } from './contacts-csv.ts';
import { runPgPair, runSqlitePair, type CaseRun, type Dialect, type PairRun } from './import-cases.ts';
import { describeMachine, loadAverage } from './machine-info.ts';
import { pgServerVersion } from './verify-import.ts';

// `npm run bench:import [-- --rows N --repeat N --keep --sqlite-only --quoted]`
// Generates a contact CSV, imports it with `chapar contacts import` and with a plain baseline
// (better-sqlite3 prepared INSERTs in one transaction; pg COPY), each as a child process, and
// prints rows per second and peak RSS side by side. PostgreSQL runs when CHAPAR_BENCH_PG or
// DATABASE_URL holds a postgres:// URL. Exits 1 if any run stored other rows than expected.
// --quoted: Chapar reads the same rows with every field quoted (its csv-parse path; the plain
// file goes through a direct splitter), the baseline the plain file; the goals are for the plain file.

/** The issue's goals for Chapar's import on SQLite. */
const GOAL_RATIO = 0.4;
const GOAL_RSS_BYTES = 300e6;
const MB = 1e6;

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    repeat: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
    'sqlite-only': { type: 'boolean', default: false },
    quoted: { type: 'boolean', default: false },
  },
});
const rows = Number(args.rows);
const repeat = Number(args.repeat);
if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(repeat) || repeat < 1) {
  console.error('usage: npm run bench:import -- [--rows N] [--repeat N] [--keep] [--sqlite-only] [--quoted]');
  process.exit(2);
}
const pgCandidate = process.env.CHAPAR_BENCH_PG ?? process.env.DATABASE_URL;
const pgUrl = !args['sqlite-only'] && pgCandidate && /^postgres(ql)?:\/\//.test(pgCandidate) ? pgCandidate : undefined;

const machine = describeMachine();
console.log(`chapar import benchmark · ${machine.date}`);
console.log(`node ${machine.node} · ${machine.cpuModel} · ${machine.cores} cores · ${machine.memoryGb} GB RAM · ${machine.kernel} · SQLite ${machine.sqlite}`);
console.log(`code: ${machine.git} · load average ${loadAverage()}`);
if (pgUrl) console.log(`PostgreSQL ${await pgServerVersion(pgUrl)} at ${pgUrl.replace(/\/\/[^@/]*@/, '//…@')}`);
else console.log('PostgreSQL: skipped (set CHAPAR_BENCH_PG=postgres://… to include it)');

const workDir = join(dirname(fileURLToPath(import.meta.url)), '.work');
mkdirSync(workDir, { recursive: true });
const csv = resolve(workDir, `contacts-${rows}.csv`);
const genStart = performance.now();
const bytes = await generateContactsCsv(csv, rows);
console.log(`generated ${csv}: ${rows.toLocaleString('en')} rows, ${(bytes / MB).toFixed(1)} MB in ${((performance.now() - genStart) / 1000).toFixed(1)} s`);
const quotedCsv = args.quoted ? resolve(workDir, `contacts-${rows}-quoted.csv`) : undefined;
if (quotedCsv) {
  const quotedBytes = await generateContactsCsv(quotedCsv, rows, undefined, { quoted: true });
  console.log(`generated ${quotedCsv}: the same rows, every field quoted, ${(quotedBytes / MB).toFixed(1)} MB; chapar reads it, the baseline the plain file`);
}

const dialects: Dialect[] = pgUrl ? ['sqlite', 'postgres'] : ['sqlite'];
const runPair = (d: Dialect, file: string, n: number, baselineFirst: boolean, keep = false, chaparCsv?: string) =>
  d === 'sqlite' ? runSqlitePair(file, n, { baselineFirst, keep, chaparCsv }) : runPgPair(file, n, pgUrl!, { baselineFirst, keep, chaparCsv });

try {
  // A small file through every path first: it warms tsx's compile cache (so no measured run pays
  // for transpiling), proves each path works before the long runs, and shows the fixed start-up cost.
  const warmCsv = resolve(workDir, 'contacts-warmup.csv');
  const warmQuoted = quotedCsv ? resolve(workDir, 'contacts-warmup-quoted.csv') : undefined;
  await generateContactsCsv(warmCsv, 1000, 1);
  if (warmQuoted) await generateContactsCsv(warmQuoted, 1000, 1, { quoted: true });
  for (const d of dialects) {
    const w = await runPair(d, warmCsv, 1000, false, false, warmQuoted);
    if (w.differingRows !== 0) throw new Error(`${d} warm-up: ${w.differingRows} rows differ between chapar's table and the baseline's`);
    console.log(`warm-up, 1,000 rows on ${d}: chapar ${fmtRun(w.chapar)}; baseline ${fmtRun(w.baseline)}`);
  }
  rmSync(warmCsv);
  if (warmQuoted) rmSync(warmQuoted);

  const results = new Map<Dialect, PairRun[]>();
  for (const d of dialects) {
    const runs: PairRun[] = [];
    for (let r = 0; r < repeat; r++) {
      // Alternate which goes first, so neither always gets the cooler machine or the warmer page cache.
      const pair = await runPair(d, csv, rows, r % 2 === 1, args.keep, quotedCsv);
      if (pair.differingRows !== 0) throw new Error(`${d}: ${pair.differingRows} rows differ between chapar's table and the baseline's`);
      console.log(`${d} run ${r + 1}/${repeat}: chapar ${fmtRun(pair.chapar)}; baseline ${fmtRun(pair.baseline)}; stored rows identical; load ${loadAverage()}`);
      runs.push(pair);
    }
    results.set(d, runs);
  }
  printTable(results);
} catch (err) {
  console.error(`\nbenchmark failed: ${(err as Error).message}`);
  process.exitCode = 1;
}

function printTable(results: Map<Dialect, PairRun[]>): void {
  const head = ['dialect', 'method', 'rows', 'seconds', 'rows/s', 'peak RSS MB', 'CPU s', 'vs baseline', 'goals'];
  const table: string[][] = [];
  const verdicts: string[] = [];
  for (const [d, runs] of results) {
    const chapar = summarise(runs.map((p) => p.chapar));
    const baseline = summarise(runs.map((p) => p.baseline));
    const ratio = chapar.rate / baseline.rate;
    const rssMet = chapar.peak < GOAL_RSS_BYTES;
    const ratioMet = ratio >= GOAL_RATIO;
    const goals = d === 'sqlite' ? `rate ≥40%: ${met(ratioMet)}; RSS <300 MB: ${met(rssMet)}` : `RSS <300 MB: ${met(rssMet)}`;
    table.push(row(d, `chapar contacts import${quotedCsv ? ' (quoted file)' : ''}`, chapar, `${(ratio * 100).toFixed(1)}%`, goals));
    table.push(row(d, d === 'sqlite' ? 'baseline: prepared INSERT, 1 txn' : 'baseline: COPY FROM STDIN', baseline, '100%', ''));
    if (d === 'sqlite') {
      const note = quotedCsv ? ' (on the quoted file; the goal is set for the plain one)' : '';
      verdicts.push(`SQLite rate: chapar reaches ${(ratio * 100).toFixed(1)}% of the baseline${note} (goal ≥ ${GOAL_RATIO * 100}%): ${met(ratioMet)}`);
    } else {
      verdicts.push(`PostgreSQL rate: chapar reaches ${(ratio * 100).toFixed(1)}% of COPY (no goal set; for information)`);
    }
    verdicts.push(`${d === 'sqlite' ? 'SQLite' : 'PostgreSQL'} memory: chapar peaks at ${(chapar.peak / MB).toFixed(0)} MB RSS (goal < 300 MB): ${met(rssMet)}`);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i >= 2 && i <= 7 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  console.log(`\n${line(head)}\n|${widths.map((w, i) => (i >= 2 && i <= 7 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const r of table) console.log(line(r));
  console.log(`\n${repeat > 1 ? `seconds: median of ${repeat} runs; peak RSS: the highest of them. ` : ''}MB = 10^6 bytes; CPU s = user + system time of the child process.`);
  for (const v of verdicts) console.log(v);
}

interface Summary {
  rows: number;
  seconds: number;
  rate: number;
  peak: number;
  cpu?: number;
}

function summarise(runs: CaseRun[]): Summary {
  const secs = runs.map((r) => r.m.wallSeconds).sort((a, b) => a - b);
  const seconds = secs[Math.floor(secs.length / 2)]!;
  const cpus = runs.flatMap((r) => (r.m.cpuSeconds === undefined ? [] : [r.m.cpuSeconds])).sort((a, b) => a - b);
  return {
    rows: runs[0]!.rows,
    seconds,
    rate: runs[0]!.rows / seconds,
    peak: Math.max(...runs.map((r) => r.m.peakRssBytes)),
    cpu: cpus.length > 0 ? cpus[Math.floor(cpus.length / 2)] : undefined,
  };
}

function row(dialect: Dialect, method: string, s: Summary, ratio: string, goals: string): string[] {
  return [dialect, method, s.rows.toLocaleString('en'), s.seconds.toFixed(2), Math.round(s.rate).toLocaleString('en'), (s.peak / MB).toFixed(0), s.cpu?.toFixed(1) ?? '-', ratio, goals];
}

function fmtRun(r: CaseRun): string {
  return `${r.m.wallSeconds.toFixed(2)} s, ${Math.round(r.rows / r.m.wallSeconds).toLocaleString('en')} rows/s, ${(r.m.peakRssBytes / MB).toFixed(0)} MB`;
}

function met(ok: boolean): string {
  return ok ? 'met' : 'NOT MET';
}
