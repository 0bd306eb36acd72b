import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateContactsCsv } from './contacts-csv.ts';
import { summariseCpuProfile, type TimeShare } from './cpuprofile-summary.ts';
import { measureProcess } from './measure-process.ts';

// `node bin/run-ts.js bench/profile-import.ts [--rows N] [--top N] [--pg URL] [--threads 1|2] [--quoted]`
// Runs `chapar contacts import` on the benchmark's file under `node --cpu-prof` and prints where
// the main thread's time went, and the CSV worker thread's when it has one. The profile is kept in bench/.work/profiles for Chrome DevTools
// (Performance → Load profile) or speedscope. Profiling slows the run; read shares, not speeds.

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    top: { type: 'string', default: '25' },
    pg: { type: 'string' },
    threads: { type: 'string' },
    quoted: { type: 'boolean', default: false },
  },
});
const rows = Number(args.rows);
const top = Number(args.top);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'bench/.work');
const profiles = join(work, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
mkdirSync(profiles, { recursive: true });

const csv = join(work, `contacts-${rows}${args.quoted ? '-quoted' : ''}.csv`);
await generateContactsCsv(csv, rows, undefined, { quoted: args.quoted });
const dataDir = mkdtempSync(join(tmpdir(), 'chapar-profile-'));
const env: NodeJS.ProcessEnv = { ...process.env, CHAPAR_SECRET: randomBytes(32).toString('base64'), LOG_LEVEL: 'warn', CHAPAR_DATA_DIR: dataDir };
delete env.DATABASE_URL;
let schema: string | undefined;
if (args.pg) {
  const { createPgSchema, urlWithSearchPath } = await import('./verify-import.ts');
  schema = `chapar_profile_${process.pid}`;
  await createPgSchema(args.pg, schema);
  env.DATABASE_URL = urlWithSearchPath(args.pg, schema);
}

const threads = args.threads ? ['--threads', args.threads] : [];
const m = await measureProcess(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profiles}`, join(root, 'bin/chapar.js'), 'contacts', 'import', csv, '--quiet', ...threads], env);
rmSync(dataDir, { recursive: true, force: true });
if (args.pg && schema) await (await import('./verify-import.ts')).dropPgSchema(args.pg, schema);
console.log(`chapar contacts import, ${rows.toLocaleString('en')} rows on ${args.pg ? 'PostgreSQL' : 'SQLite'}, under --cpu-prof: ${m.wallSeconds.toFixed(1)} s wall, ${m.cpuSeconds?.toFixed(1) ?? '?'} s CPU, exit ${m.exitCode ?? m.signal}`);
console.log(m.stdout.trim());
if (m.exitCode !== 0) console.log(m.stderr.trim());

// One profile per thread (CPU.<date>.<time>.<pid>.<thread id>.<seq>): thread 0 is the main thread,
// which writes; the CSV worker parses; the others are tsx's module loaders, idle after start-up.
const files = readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profiles, f));
const main = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
if (!main) throw new Error(`no .cpuprofile was written to ${profiles}`);
const s = summariseCpuProfile(main, root);
console.log(`\nprofile: ${main} (${(s.totalMs / 1000).toFixed(1)} s of main-thread samples)`);
print('self time by area (file of ours, npm package, V8/Node bucket)', s.selfByArea);
print('self time by function', s.selfByFunction);
print('inclusive time by function (self + everything it called)', s.inclusiveByFunction);
for (const f of files.filter((x) => x !== main)) {
  const t = summariseCpuProfile(f, root);
  const busy = t.totalMs - (t.selfByArea.find((a) => a.name === '(idle)')?.ms ?? 0);
  if (busy < 1000) continue;
  console.log(`\nother thread: ${f} (${(t.totalMs / 1000).toFixed(1)} s of samples, ${(busy / 1000).toFixed(1)} s busy)`);
  print('self time by area', t.selfByArea);
  print('self time by function', t.selfByFunction);
}

function print(title: string, list: TimeShare[]): void {
  console.log(`\n${title}:`);
  for (const t of list.slice(0, top)) console.log(`${(t.share * 100).toFixed(1).padStart(6)}% ${(t.ms / 1000).toFixed(2).padStart(8)} s  ${t.name}`);
}
