import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureProcess, type ProcessMeasurement } from './measure-process.ts';
import {
  countPgContacts,
  countSqliteContacts,
  createPgSchema,
  diffPgContacts,
  diffSqliteContacts,
  dropPgSchema,
  urlWithSearchPath,
} from './verify-import.ts';

// One run of each (dialect, method): Chapar's real CLI and the plain baseline, each as its own
// child process on a fresh database, each checked afterwards for the rows it claims to have stored.

export type Dialect = 'sqlite' | 'postgres';
export type Method = 'chapar' | 'baseline';

/** One measured run whose rows were counted in the database afterwards. */
export interface CaseRun {
  dialect: Dialect;
  method: Method;
  rows: number;
  m: ProcessMeasurement;
}

/** Both methods on the same file, and how many rows differ between what each stored. */
export interface PairRun {
  chapar: CaseRun;
  baseline: CaseRun;
  differingRows: number;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SECRET = randomBytes(32).toString('base64');

/** How a pair runs: which goes first, whether the databases are kept, and the file Chapar reads if not the baseline's. */
export interface PairOptions {
  baselineFirst: boolean;
  keep: boolean;
  /** The same rows written differently (every field quoted); the baseline always reads `csv`. */
  chaparCsv?: string;
}

/** Runs both methods on SQLite, in the given order, on fresh database files. */
export async function runSqlitePair(csv: string, rows: number, opts: PairOptions): Promise<PairRun> {
  const oursDir = mkdtempSync(join(tmpdir(), 'chapar-bench-ours-'));
  const baseDir = mkdtempSync(join(tmpdir(), 'chapar-bench-baseline-'));
  const oursDb = join(oursDir, 'chapar.db');
  const baseDb = join(baseDir, 'baseline.db');
  const runOurs = async () => {
    const m = await measureProcess(process.execPath, [join(ROOT, 'bin/chapar.js'), 'contacts', 'import', opts.chaparCsv ?? csv, '--quiet'], chaparEnv({ CHAPAR_DATA_DIR: oursDir }));
    return checkChaparRun('sqlite', m, rows, countSqliteContacts(oursDb));
  };
  const runBaseline = async () => {
    const m = await measureProcess(process.execPath, [join(ROOT, 'bin/run-ts.js'), join(ROOT, 'bench/baseline-sqlite.ts'), csv, baseDb], chaparEnv({}));
    return checkBaselineRun('sqlite', m, rows, countSqliteContacts(baseDb));
  };
  try {
    const [chapar, baseline] = opts.baselineFirst ? swap(await runBaseline(), await runOurs()) : [await runOurs(), await runBaseline()];
    return { chapar, baseline, differingRows: diffSqliteContacts(oursDb, baseDb) };
  } finally {
    if (opts.keep) console.log(`  kept: ${oursDb} and ${baseDb}`);
    else for (const d of [oursDir, baseDir]) rmSync(d, { recursive: true, force: true });
  }
}

/** Runs both methods on PostgreSQL, each in a fresh schema that is dropped afterwards. */
export async function runPgPair(csv: string, rows: number, url: string, opts: PairOptions): Promise<PairRun> {
  const tag = `${process.pid}_${Date.now().toString(36)}`;
  const oursSchema = `chapar_bench_ours_${tag}`;
  const baseSchema = `chapar_bench_baseline_${tag}`;
  await createPgSchema(url, oursSchema);
  await createPgSchema(url, baseSchema);
  const runOurs = async () => {
    // The CLI only takes DATABASE_URL, so the schema travels in the URL; counting in that schema
    // (not public) afterwards proves the search_path option really reached the server.
    const env = chaparEnv({ CHAPAR_DATA_DIR: mkdtempSync(join(tmpdir(), 'chapar-bench-pg-')), DATABASE_URL: urlWithSearchPath(url, oursSchema) });
    const m = await measureProcess(process.execPath, [join(ROOT, 'bin/chapar.js'), 'contacts', 'import', opts.chaparCsv ?? csv, '--quiet'], env);
    rmSync(env.CHAPAR_DATA_DIR!, { recursive: true, force: true });
    return checkChaparRun('postgres', m, rows, await countPgContacts(url, oursSchema));
  };
  const runBaseline = async () => {
    const m = await measureProcess(process.execPath, [join(ROOT, 'bin/run-ts.js'), join(ROOT, 'bench/baseline-pg-copy.ts'), csv, url, baseSchema], chaparEnv({}));
    return checkBaselineRun('postgres', m, rows, await countPgContacts(url, baseSchema));
  };
  try {
    const [chapar, baseline] = opts.baselineFirst ? swap(await runBaseline(), await runOurs()) : [await runOurs(), await runBaseline()];
    return { chapar, baseline, differingRows: await diffPgContacts(url, oursSchema, baseSchema) };
  } finally {
    if (opts.keep) console.log(`  kept: schemas ${oursSchema} and ${baseSchema}`);
    else for (const s of [oursSchema, baseSchema]) await dropPgSchema(url, s);
  }
}

// The children get a clean environment for Chapar: an inherited DATABASE_URL must not send the
// SQLite run to PostgreSQL, and logs stay at warn as for any one-off command.
function chaparEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CHAPAR_SECRET: SECRET, LOG_LEVEL: 'warn', ...extra };
  if (!extra.DATABASE_URL) delete env.DATABASE_URL;
  return env;
}

function checkChaparRun(dialect: Dialect, m: ProcessMeasurement, rows: number, counted: number): CaseRun {
  // "N rows read: N stored (N created, N updated), N rejected, …"; the count in the table is what
  // decides, the summary line is checked too while it keeps this shape.
  const summary = /(\d+) rows read: (\d+) stored \((\d+) created/.exec(m.stdout);
  const claimed = summary ? Number(summary[1]) === rows && Number(summary[3]) === rows : true;
  if (m.exitCode !== 0 || !claimed || counted !== rows) {
    throw new Error(`chapar import on ${dialect} did not store ${rows} rows (exit ${m.exitCode ?? m.signal}, ${counted} in the table)\nstdout: ${m.stdout.trim()}\nstderr: ${m.stderr.trim().slice(-2000)}`);
  }
  return { dialect, method: 'chapar', rows, m };
}

function checkBaselineRun(dialect: Dialect, m: ProcessMeasurement, rows: number, counted: number): CaseRun {
  const reported = /\{"rows":(\d+)\}/.exec(m.stdout);
  if (m.exitCode !== 0 || !reported || Number(reported[1]) !== rows || counted !== rows) {
    throw new Error(`baseline on ${dialect} did not store ${rows} rows (exit ${m.exitCode ?? m.signal}, ${counted} in the table)\nstdout: ${m.stdout.trim()}\nstderr: ${m.stderr.trim().slice(-2000)}`);
  }
  return { dialect, method: 'baseline', rows, m };
}

function swap<A, B>(b: B, a: A): [A, B] {
  return [a, b];
}
