// npm run bench:events [-- --duration S] [--connections N] [--contacts N] [--rounds N] [--profile] [--client autocannon|wrk] [--only words]
// The feedback endpoints under load from autocannon on loopback, beside a baseline measured in the
// same run: a bare Fastify route returning 200 (bench/events-baseline.ts), each server in its own
// process. Measures requests/s and latency of the click redirect (/c), the same clicks answered
// but not stored (a diagnostic: bench/events-unrecorded.ts), the open pixel (/o), a
// signed Mailgun webhook (one event a request, as Mailgun posts) and a signed SendGrid webhook
// carrying 100 events a request; then stops Chapar cleanly and counts the events it stored
// against the responses autocannon received: none may be lost.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pino from 'pino';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { describeMachine, loadAverage, stealMeter, stealText } from './machine-info.ts';
import { seedTrackedMessages, webhookRequests, type WebhookRequest } from './events-seed.ts';

const argOf = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const DURATION = argOf('--duration', 10);
const CONNECTIONS = argOf('--connections', 32);
const CONTACTS = argOf('--contacts', 2000);
const ROUNDS = argOf('--rounds', 2);
const MAILGUN_PER_ROUND = argOf('--mailgun', 5000);
const SENDGRID_PER_ROUND = argOf('--sendgrid', 50);
const ROOT = join(import.meta.dirname, '..');
// --client wrk: the GET scenarios (baseline, /health, click, pixel) from wrk instead of autocannon; webhooks stay on autocannon.
const CLIENT = process.argv.includes('--client') ? process.argv[process.argv.indexOf('--client') + 1] : 'autocannon';

interface Run {
  /** Server CPU per answered request, µs: its busiest thread, and its other threads (tracking writer, …). */
  cpu?: { main: number; others: number };
  sent: number;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
  /** CPU the hypervisor gave to other guests during the run, % (bench/machine-info.ts). */
  steal?: number | null;
}

type Req = { path: string; method?: string; body?: string; headers?: Record<string, string> };

/** One kind of request under load: where it goes, how it is made, and which stored events it should leave. */
interface Scenario {
  label: string;
  url: string;
  /** Reusable requests, built once and sent in turn (autocannon rebuilds a request made by `next` every time, which would make the client the bottleneck). */
  requests?: Req[];
  /** Single-use requests, made one by one. */
  next?: () => Req;
  /** Runs by time (reusable requests) or by count (single-use signed webhooks). */
  amount?: number;
  counts?: { type: string; source: string; perRequest: number };
}

function startServer(cmd: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, cmd, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/[^\s,)]+)/.exec(out);
      if (!m) return;
      // From here on the server's output (request logs at info) is read and dropped, never kept:
      // a pipe left full would block the server's logger.
      child.stdout!.off('data', onData);
      child.stdout!.on('data', () => {});
      resolve({ child, url: m[1]! });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${out}`)));
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/**
 * One run of `wrk` (C, from Debian's package) over a scenario's prebuilt GET requests, in turn (a
 * Lua script holds them): the client takes far less of the two shared cores than autocannon, so
 * more of the measurement is the server. wrk does not count requests sent but unanswered when the
 * run ends; at most one is in flight per connection.
 */
function loadWithWrk(s: Scenario, seconds: number): Run {
  const reqs = s.requests!;
  const lua = join(dir, 'requests.lua');
  const q = (x: string) => JSON.stringify(x);
  writeFileSync(
    lua,
    // Formatted in init(): wrk knows the Host header only once the thread starts.
    `local reqs = {}\nlocal i = 0\nfunction init(args)\n  reqs = {\n${reqs.map((r) => `    wrk.format("GET", ${q(r.path)}, { ${Object.entries(r.headers ?? {}).map(([k, v]) => `[${q(k)}] = ${q(v)}`).join(', ')} }),`).join('\n')}\n  }\nend\n` +
      `function request()\n  i = i % #reqs + 1\n  return reqs[i]\nend\n`,
  );
  const r = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', lua, s.url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr || r.error}`);
  const out = r.stdout;
  const ms = (label: string) => {
    const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const total = Number(/(\d+) requests in/.exec(out)![1]);
  const bad = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = bad + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { sent: total + CONNECTIONS, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]), p50: ms('50%'), p99: ms('99%'), ok: total - bad, errors };
}

/** One autocannon run; `next` gives each request its path, headers and body, so every hit is distinct. */
async function load(s: Scenario, seconds: number, amount?: number): Promise<Run> {
  if (CLIENT === 'wrk' && s.requests) return loadWithWrk(s, seconds);
  const r = await autocannon({
    url: s.url,
    connections: amount ? Math.min(CONNECTIONS, amount) : CONNECTIONS,
    ...(amount ? { amount } : { duration: seconds }),
    requests: s.requests ?? [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, ...s.next!() }) }],
  } as unknown as autocannon.Options);
  const x = r as unknown as Record<string, number>;
  const ok = r['2xx'] + x['3xx']!;
  // A run by count ends within a second or so, and autocannon's average is over whole seconds (5,000
  // requests in 3.2 s read as 1,250 a second): such a run's rate is its requests over its duration.
  const rps = amount ? r.requests.total / r.duration : r.requests.average;
  return { sent: (r.requests as unknown as { sent: number }).sent, rps, p50: r.latency.p50, p99: r.latency.p99, ok, errors: r.errors + r.timeouts + r.non2xx - x['3xx']! };
}

/** CPU time (ms, user + system) of each thread of a process so far, from /proc (Linux); empty elsewhere. */
function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  const tick = 1000 / 100; // USER_HZ
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out.set(`${tid} ${name}`, (Number(f[11]) + Number(f[12])) * tick);
    }
  } catch {
    // not Linux, or the process ended
  }
  return out;
}

/** Server CPU between two readings, split into the busiest thread and all others (ms). */
function cpuBetween(before: Map<string, number>, after: Map<string, number>): { main: number; others: number } {
  const deltas = [...after].map(([k, v]) => v - (before.get(k) ?? 0)).sort((a, b) => b - a);
  return { main: deltas[0] ?? 0, others: deltas.slice(1).reduce((a, b) => a + b, 0) };
}

/** The server's CPU per request (median of the rounds), when /proc could be read. */
function cpuNote(rs: Run[]): string {
  const cs = rs.map((r) => r.cpu).filter((c): c is { main: number; others: number } => c !== undefined);
  if (cs.length === 0) return '';
  return `  server CPU ${median(cs.map((c) => c.main)).toFixed(0)} µs/req on its main thread + ${median(cs.map((c) => c.others)).toFixed(0)} on others`;
}

const busy = (p: { totalMs: number; selfByArea: { name: string; ms: number }[] }) => p.totalMs - (p.selfByArea.find((a) => a.name === '(idle)')?.ms ?? 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en');
/** The median steal of a scenario's timed runs, when /proc/stat could be read. */
const stealNote = (rs: Run[]) => {
  const known = rs.map((r) => r.steal).filter((x): x is number => typeof x === 'number');
  return known.length > 0 ? `  ${stealText(median(known))}` : '';
};

const info = describeMachine();
console.log(`bench:events  ${info.date}  node ${info.node}  ${info.cpuModel} × ${info.cores}  sqlite ${info.sqlite}  git ${info.git}  load ${loadAverage()}`);
console.log(`${CONNECTIONS} connections from ${CLIENT} (webhooks: autocannon), ${DURATION} s per timed run, ${ROUNDS} rounds (median shown), ${CONTACTS} contacts with one sent message each; LOG_LEVEL=info\n`);

const dir = mkdtempSync(join(tmpdir(), 'chapar-bench-events-'));
const children: ChildProcess[] = [];
const secret = randomBytes(32).toString('base64');
const env = { ...process.env, CHAPAR_DATA_DIR: dir, CHAPAR_SECRET: secret, LOG_LEVEL: 'info', PORT: '0', CHAPAR_PUBLIC_URL: 'http://127.0.0.1:1' };
try {
  // Seed through the services on the same file the server will open.
  const seedApp = await createApp(loadConfig(env), { logger: pino({ level: 'silent' }), env });
  const seeded = await seedTrackedMessages(seedApp, CONTACTS);
  const hooks = await webhookRequests(seedApp, seeded, (ROUNDS + 1) * MAILGUN_PER_ROUND, (ROUNDS + 1) * SENDGRID_PER_ROUND);
  await seedApp.close();

  const baseline = await startServer(['bin/run-ts.js', 'bench/events-baseline.ts'], env);
  // --profile: a V8 CPU profile of the Chapar server, summarised at the end (bench/cpuprofile-summary.ts).
  const profileDir = process.argv.includes('--profile') ? mkdtempSync(join(tmpdir(), 'chapar-events-prof-')) : null;
  const chapar = await startServer([...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), 'bin/chapar.js', 'serve'], env);
  // A diagnostic: Chapar's click fast path with the hits thrown away (bench/events-unrecorded.ts).
  const unrecorded = await startServer(['bin/run-ts.js', 'bench/events-unrecorded.ts'], env);
  const pidOf = new Map([[baseline.url, baseline.child.pid!], [chapar.url, chapar.child.pid!], [unrecorded.url, unrecorded.child.pid!]]);
  const path = (u: string) => u.replace('http://127.0.0.1:1', '');
  // Readers come from many addresses (the per-IP limit of the public endpoints is 300 a minute); the
  // server believes X-Forwarded-For from loopback, as it would from a reverse proxy on the machine.
  // 20,000 distinct requests per kind keep every address well under that limit.
  const DISTINCT = 20_000;
  const ip = (i: number) => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  let hookIp = 0;
  const build = (f: (i: number) => Req) => Array.from({ length: DISTINCT }, (_, i) => f(i));
  const queue = (reqs: WebhookRequest[]) => {
    let k = 0;
    // Each request once: a Mailgun token is good for one request, and a replayed event would (rightly) be stored once.
    return (): Req => {
      const h = reqs[k++];
      if (!h) throw new Error('ran out of signed webhook requests');
      return { path: h.path, method: 'POST', body: h.body, headers: { ...h.headers, 'x-forwarded-for': ip(hookIp++ % DISTINCT) } };
    };
  };
  const clickRequests = build((i) => ({ path: path(seeded.clicks[i % seeded.clicks.length]!), headers: { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15', 'x-forwarded-for': ip(i) } }));
  const scenarios: Scenario[] = [
    { label: 'baseline: bare Fastify GET → 200', url: baseline.url, requests: build((i) => ({ path: '/ok', headers: { 'x-forwarded-for': ip(i) } })) },
    // Chapar's own server with the lightest route: what its Fastify setup (logger, proxy trust, plugins) costs before any tracking.
    { label: 'chapar GET /health (200)', url: chapar.url, requests: build((i) => ({ path: '/health', headers: { 'x-forwarded-for': ip(i) } })) },
    { label: 'click redirect /c (302)', url: chapar.url, requests: clickRequests, counts: { type: 'email_clicked', source: 'tracking', perRequest: 1 } },
    // The same requests to the diagnostic server: everything the click costs but its recording.
    { label: 'click, not stored (diagnostic)', url: unrecorded.url, requests: clickRequests },
    { label: 'open pixel /o (200)', url: chapar.url, requests: build((i) => ({ path: path(seeded.pixels[i % seeded.pixels.length]!), headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0', 'x-forwarded-for': ip(i) } })), counts: { type: 'email_opened', source: 'tracking', perRequest: 1 } },
    { label: 'Mailgun webhook, 1 event (200)', url: chapar.url, next: queue(hooks.mailgun), amount: MAILGUN_PER_ROUND, counts: { type: 'email_delivered', source: 'mailgun', perRequest: 1 } },
    { label: 'SendGrid webhook, 100 events (200)', url: chapar.url, next: queue(hooks.sendgrid), amount: SENDGRID_PER_ROUND, counts: { type: 'email_delivered', source: 'sendgrid', perRequest: 100 } },
  ];

  // --only click,baseline: run just the scenarios whose label starts with these words (profiling one path).
  const onlyArg = process.argv.indexOf('--only');
  if (onlyArg > 0) {
    const words = process.argv[onlyArg + 1]!.split(',');
    for (let k = scenarios.length - 1; k > 0; k--) if (!words.some((w) => scenarios[k]!.label.toLowerCase().startsWith(w))) scenarios.splice(k, 1);
  }
  // Answered (counted by autocannon) and sent: requests in flight when a timed run ends are sent
  // and served but never counted as answered, so the store must hold at least the answered and at
  // most the sent.
  const answered = new Map<string, number>();
  const sent = new Map<string, number>();
  const runs = new Map<string, Run[]>();
  const tally = (s: Scenario, r: Run) => {
    answered.set(s.label, (answered.get(s.label) ?? 0) + r.ok);
    sent.set(s.label, (sent.get(s.label) ?? 0) + r.sent);
  };
  for (const s of scenarios) tally(s, await load(s, 2, s.amount));
  // Rounds take turns, so drifting load on this shared machine slows every variant alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of scenarios) {
      const pid = pidOf.get(s.url)!;
      const before = threadCpuMs(pid);
      const steal = stealMeter();
      const r = await load(s, DURATION, s.amount);
      r.steal = steal();
      const used = cpuBetween(before, threadCpuMs(pid));
      if (r.ok > 0) r.cpu = { main: (used.main * 1000) / r.ok, others: (used.others * 1000) / r.ok };
      runs.set(s.label, [...(runs.get(s.label) ?? []), r]);
      tally(s, r);
    }
  }
  await stopServer(chapar.child);
  await stopServer(unrecorded.child);
  await stopServer(baseline.child);

  // Each round's runs follow one another within a minute, so a scenario is compared with the
  // baseline of its own round, and the median of those ratios is shown: the machine's speed drifts
  // by half between minutes, and a ratio of medians taken from different rounds carries that drift.
  const baseRuns = runs.get(scenarios[0]!.label)!;
  for (const s of scenarios) {
    const rs = runs.get(s.label)!;
    const rps = median(rs.map((r) => r.rps));
    const ratio = median(rs.map((r, round) => r.rps / baseRuns[round]!.rps));
    const perReq = s.counts?.perRequest ?? 1;
    const evs = perReq > 1 ? `  (${fmt(rps * perReq)} events/s)` : '';
    console.log(`${s.label.padEnd(36)} ${fmt(rps).padStart(7)} req/s  p50 ${median(rs.map((r) => r.p50)).toFixed(1).padStart(6)} ms  p99 ${median(rs.map((r) => r.p99)).toFixed(1).padStart(6)} ms  ${(ratio * 100).toFixed(0).padStart(4)}% of baseline  errors ${rs.reduce((n, r) => n + r.errors, 0)}${evs}${cpuNote(rs)}${stealNote(rs)}`);
  }

  if (profileDir) {
    const { summariseCpuProfile } = await import('./cpuprofile-summary.ts');
    // One profile per thread; the main thread is the busy one (the others are tsx's loader and the tracking writer).
    const all = readdirSync(profileDir).map((f) => summariseCpuProfile(join(profileDir, f), ROOT)).sort((a, b) => busy(b) - busy(a));
    console.log(`\nserver threads, busy ms of the whole run: ${all.map((x) => fmt(busy(x))).join(', ')}`);
    const p = all[0]!;
    const show = (title: string, xs: { name: string; share: number }[]) => console.log(`\n${title}\n${xs.slice(0, 25).map((x) => `  ${(x.share * 100).toFixed(1).padStart(5)}%  ${x.name}`).join('\n')}`);
    show('server CPU by area (self time)', p.selfByArea);
    show('server CPU by function (self time)', p.selfByFunction);
    show('server CPU by function (inclusive)', p.inclusiveByFunction);
  }

  // Count what Chapar stored against what it answered.
  const db = openDatabase({ url: join(dir, 'chapar.db') });
  console.log('');
  let fine = true;
  for (const s of scenarios) {
    if (!s.counts) continue;
    const { type, source, perRequest } = s.counts;
    const stored = Number((await db.k.selectFrom('events').select(({ fn }) => fn.countAll().as('n')).where('type', '=', type).where('source', '=', source).executeTakeFirstOrThrow()).n);
    const low = answered.get(s.label)! * perRequest;
    const high = sent.get(s.label)! * perRequest;
    const ok = stored >= low && stored <= high;
    fine &&= ok;
    console.log(`${s.label.padEnd(36)} events stored ${fmt(stored).padStart(9)}   answered ${fmt(low).padStart(9)}   sent ${fmt(high).padStart(9)}   ${ok ? 'none lost' : 'MISMATCH'}`);
  }
  await db.close();
  console.log(fine ? 'no event lost' : 'EVENTS LOST OR INVENTED: see above');
  if (!fine) process.exitCode = 1;
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
