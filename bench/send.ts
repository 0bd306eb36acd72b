// npm run bench:send [-- --messages N] [--baseline-loop N] [--threads T]
// 100,000 personalised ~20 KB messages, DKIM RSA-2048, from the outbox to Postfix's smtp-sink on
// loopback, beside two baselines measured in the same run:
//   - smtp-source, 16 sessions: the machine's SMTP ceiling (no rendering, no signing)
//   - a plain nodemailer pooled loop with DKIM (build + sign + send, one thread), run before and
//     after Chapar's SQLite run; the ratio is to the mean of the two
// With CHAPAR_BENCH_PG=postgres://… it adds a run on PostgreSQL with two worker processes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { loadAverage, stealMeter, stealText } from './machine-info.ts';
import { measureProcess, type ProcessMeasurement } from './measure-process.ts';

const argOf = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = argOf('--messages', 100_000);
const LOOP_N = argOf('--baseline-loop', 3_000);
const SOURCE_N = argOf('--baseline-source', 30_000);
// A build thread per core, as the README advises: with the main thread's share per message down
// to ~0.4 ms, two threads beat one here by ~40% (1 was the best when the main thread did more;
// bench/RESULTS.md).
const THREADS = argOf('--threads', availableParallelism());
const PORT = 20000 + Math.floor(Math.random() * 20000);
const RUN_TS = join(import.meta.dirname, '../bin/run-ts.js');
const SIDE = join(import.meta.dirname, 'send-chapar.ts');

function startSink(): ChildProcess {
  // -c: count; backlog 256; as root smtp-sink must drop privileges (-u).
  return spawn('/usr/sbin/smtp-sink', ['-u', 'nobody', '-m', '256', `127.0.0.1:${PORT}`, '256'], { stdio: 'ignore' });
}

// Each timed part restarts the meter; its line shows how much CPU the hypervisor took meanwhile.
let steal = stealMeter();
const line = (label: string, n: number, secs: number, extra = '') =>
  console.log(`${label.padEnd(62)} ${n.toLocaleString('en').padStart(8)} msgs ${secs.toFixed(2).padStart(7)} s ${Math.round(n / secs).toLocaleString('en').padStart(7)} msg/s ${extra} ${stealText(steal())}`.trimEnd());

console.log(`bench:send  ${new Date().toISOString()}  node ${process.version}  ${cpus()[0]?.model} × ${cpus().length}  load ${loadAverage()}`);
const sink = startSink();
await new Promise((r) => setTimeout(r, 500));
const results: Record<string, number> = {};
// The loop's DKIM key, made once for both of its runs.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
try {
  // Baseline 1: smtp-source, 16 sessions, 20 KB messages.
  {
    steal = stealMeter();
    const t0 = performance.now();
    const r = spawnSync('/usr/sbin/smtp-source', ['-s', '16', '-m', String(SOURCE_N), '-l', '20480', '-f', 'a@shop.example', '-t', 'b@example.com', `127.0.0.1:${PORT}`]);
    if (r.status !== 0) throw new Error(`smtp-source failed: ${r.stderr}`);
    const secs = (performance.now() - t0) / 1000;
    results.source = SOURCE_N / secs;
    line('baseline: smtp-source, 16 sessions (no render, no DKIM)', SOURCE_N, secs);
  }
  // Baseline 2: the nodemailer loop, before and again after Chapar's SQLite run (below).
  results.loopBefore = await nodemailerLoop('baseline: nodemailer pooled loop + DKIM RSA-2048 (one thread)');
  // Chapar on SQLite: one process, build threads.
  {
    const dir = mkdtempSync(join(tmpdir(), 'chapar-bench-send-'));
    const env = { ...process.env, DATABASE_URL: join(dir, 'chapar.db'), CHAPAR_DATA_DIR: dir, CHAPAR_SECRET: randomBytes(32).toString('base64'), SINK_PORT: String(PORT), CHAPAR_BUILD_THREADS: String(THREADS), CHAPAR_DELIVERY_CONCURRENCY: '64' };
    const prep = await measureProcess(process.execPath, [RUN_TS, SIDE, 'prepare', String(N)], env);
    if (prep.exitCode !== 0) throw new Error(`prepare failed: ${prep.stderr}`);
    const queued = JSON.parse(prep.stdout.trim().split('\n').at(-1)!);
    console.log(`(sqlite: ${N.toLocaleString('en')} messages queued in ${queued.seconds.toFixed(1)} s, ${Math.round(N / queued.seconds).toLocaleString('en')}/s; not part of the send rate)`);
    steal = stealMeter();
    const run = await measureProcess(process.execPath, [RUN_TS, SIDE, 'drain'], env);
    report('chapar, SQLite, 1 process, ' + THREADS + ' build threads', run);
    rmSync(dir, { recursive: true, force: true });
  }
  results.loopAfter = await nodemailerLoop('baseline: the same nodemailer loop again, after Chapar');
  results.loop = (results.loopBefore! + results.loopAfter!) / 2;
  // Chapar on PostgreSQL: two worker processes sharing the outbox.
  if (process.env.CHAPAR_BENCH_PG) {
    const schema = `bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: process.env.CHAPAR_BENCH_PG });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = `${process.env.CHAPAR_BENCH_PG}${process.env.CHAPAR_BENCH_PG.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const dir = mkdtempSync(join(tmpdir(), 'chapar-bench-send-'));
    const env = { ...process.env, DATABASE_URL: url, CHAPAR_DATA_DIR: dir, CHAPAR_SECRET: randomBytes(32).toString('base64'), SINK_PORT: String(PORT), CHAPAR_BUILD_THREADS: '1', CHAPAR_DELIVERY_CONCURRENCY: '32' };
    try {
      const prep = await measureProcess(process.execPath, [RUN_TS, SIDE, 'prepare', String(N)], env);
      if (prep.exitCode !== 0) throw new Error(`prepare failed: ${prep.stderr}`);
      steal = stealMeter();
      const t0 = performance.now();
      const runs = await Promise.all([0, 1].map(() => measureProcess(process.execPath, [RUN_TS, SIDE, 'drain'], env)));
      const secs = (performance.now() - t0) / 1000;
      const handled = runs.map((r) => JSON.parse(r.stdout.trim().split('\n').at(-1)!));
      const total = handled.reduce((s, h) => s + h.handled, 0);
      results.pg = total / secs;
      // Counted once both processes have stopped (each process's own count may catch the other's sends in flight).
      const statuses = await admin.query<{ status: string; n: string }>(`SELECT status, COUNT(*) AS n FROM ${schema}.messages GROUP BY status`);
      line('chapar, PostgreSQL, 2 worker processes × 1 build thread', total, secs, `peak RSS ${runs.map((r) => Math.round(r.peakRssBytes / 1e6)).join(' + ')} MB; per process ${handled.map((h) => h.handled).join(' / ')}; ${JSON.stringify(Object.fromEntries(statuses.rows.map((r) => [r.status, Number(r.n)])))}`);
    } finally {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
      rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  sink.kill();
}

/**
 * The plain loop: nodemailer's pool building, DKIM-signing (RSA-2048) and sending LOOP_N messages,
 * 16 in flight, on one thread. Returns messages/s. Run on both sides of Chapar's run, since the
 * host's speed drifts within minutes and the ratio should compare the same minutes.
 */
async function nodemailerLoop(label: string): Promise<number> {
  const mailer = nodemailer.createTransport({ pool: true, maxConnections: 16, maxMessages: 1000, host: '127.0.0.1', port: PORT, ignoreTLS: true, dkim: { domainName: 'shop.example', keySelector: 'bench', privateKey } });
  const body = (i: number) => `<p>Hello customer ${i},</p>` + '<p>Thank you for shopping with us. Your order is being prepared with care. </p>'.repeat(260);
  let next = 0;
  steal = stealMeter();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < LOOP_N) {
      const i = next++;
      await mailer.sendMail({ from: 'Shop <orders@shop.example>', to: `customer${i}@example.com`, subject: `Order ${i}`, html: body(i), text: `Order ${i}` });
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  mailer.close();
  line(label, LOOP_N, secs);
  return LOOP_N / secs;
}

function report(label: string, run: ProcessMeasurement) {
  if (run.exitCode !== 0) throw new Error(`${label} failed: ${run.stderr}`);
  const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
  results.sqlite = r.handled / r.seconds;
  line(label, r.handled, r.seconds, `peak RSS ${Math.round(run.peakRssBytes / 1e6)} MB, CPU ${run.cpuSeconds?.toFixed(1) ?? '?'} s; ${JSON.stringify(r.statuses)}`);
}

// The issue's goal: at least 1,200 msg/s, which it put at four times a loop it measured at ~300/s.
// Both are printed: the loop's own rate moves with the machine (141–394/s on different days here).
const ratio = results.sqlite! / results.loop!;
console.log(`\nchapar SQLite = ${Math.round(results.sqlite!).toLocaleString('en')} msg/s   (goal ≥ 1,200 msg/s: ${results.sqlite! >= 1200 ? 'met' : 'NOT met'})`);
console.log(`chapar SQLite / nodemailer loop = ${ratio.toFixed(2)}×   (the loop's mean of ${Math.round(results.loopBefore!)} and ${Math.round(results.loopAfter!)} msg/s before and after; four times the loop: ${ratio >= 4 ? 'met' : 'NOT met'})`);
console.log(`chapar SQLite / smtp-source    = ${((results.sqlite! / results.source!) * 100).toFixed(0)}%`);
if (results.pg) console.log(`chapar PostgreSQL (2 workers) / nodemailer loop = ${(results.pg / results.loop!).toFixed(2)}×`);
console.log(`load after: ${loadAverage()}`);
