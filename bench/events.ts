// npm run bench:events [-- --duration S] [--connections N] [--contacts N] [--rounds N]
// The tracking endpoints under load from autocannon on loopback, beside a baseline measured in the
// same run: a bare Fastify route returning 200 (bench/events-baseline.ts), each server in its own
// process. Measures requests/s and latency of the click redirect (/c), the open pixel (/o) and a
// signed Mailgun webhook, then stops Chapar cleanly and counts the events it stored against the
// responses autocannon received: none may be lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pino from 'pino';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { describeMachine } from './machine-info.ts';
import { seedTrackedMessages, webhookRequests, type WebhookRequest } from './events-seed.ts';

const argOf = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const DURATION = argOf('--duration', 10);
const CONNECTIONS = argOf('--connections', 32);
const CONTACTS = argOf('--contacts', 2000);
const ROUNDS = argOf('--rounds', 2);
const ROOT = join(import.meta.dirname, '..');

interface Run {
  sent: number;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
}

function startServer(cmd: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, cmd, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/[^\s,)]+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${out}`)));
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** One autocannon run; `next` gives each request its path (and body), so every hit is distinct. */
async function load(url: string, seconds: number, next: () => { path: string; method?: string; body?: string; headers?: Record<string, string> }): Promise<Run> {
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, ...next() }) }],
  } as unknown as autocannon.Options);
  const ok = r['2xx'] + (r as unknown as Record<string, number>)['3xx']!;
  return { sent: (r.requests as unknown as { sent: number }).sent, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, ok, errors: r.errors + r.timeouts + r.non2xx - (r as unknown as Record<string, number>)['3xx']! };
}

const busy = (p: { totalMs: number; selfByArea: { name: string; ms: number }[] }) => p.totalMs - (p.selfByArea.find((a) => a.name === '(idle)')?.ms ?? 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const info = describeMachine();
console.log(`bench:events  ${info.date}  node ${info.node}  ${info.cpuModel} × ${info.cores}  sqlite ${info.sqlite}  git ${info.git}  load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} rounds (median shown), ${CONTACTS} contacts with one sent message each\n`);

const dir = mkdtempSync(join(tmpdir(), 'chapar-bench-events-'));
const secret = randomBytes(32).toString('base64');
const env = { ...process.env, CHAPAR_DATA_DIR: dir, CHAPAR_SECRET: secret, LOG_LEVEL: 'info', PORT: '0', CHAPAR_PUBLIC_URL: 'http://127.0.0.1:1' };
try {
  // Seed through the services on the same file the server will open.
  const seedApp = await createApp(loadConfig(env), { logger: pino({ level: 'silent' }), env });
  const seeded = await seedTrackedMessages(seedApp, CONTACTS);
  const hooks: WebhookRequest[] = await webhookRequests(seedApp, seeded, 20_000);
  await seedApp.close();

  const baseline = await startServer(['bin/run-ts.js', 'bench/events-baseline.ts'], env);
  // --profile: a V8 CPU profile of the Chapar server, summarised at the end (bench/cpuprofile-summary.ts).
  const profileDir = process.argv.includes('--profile') ? mkdtempSync(join(tmpdir(), 'chapar-events-prof-')) : null;
  const chapar = await startServer([...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), 'bin/chapar.js', 'serve'], env);
  const prefix = (u: string) => u.replace('http://127.0.0.1:1', '');
  // Readers come from many addresses (the per-IP limit of the public endpoints is 300 a minute); the
  // server believes X-Forwarded-For from loopback, as it would from a reverse proxy on the machine.
  const ips = Array.from({ length: 5000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
  const from = (i: number) => ({ 'x-forwarded-for': ips[i % ips.length]! });
  let clickI = 0;
  let openI = 0;
  let hookI = 0;
  const kinds = {
    'baseline: bare Fastify GET → 200': { url: baseline.url, next: () => ({ path: '/ok' }) },
    'click redirect /c (302)': { url: chapar.url, next: () => ({ path: prefix(seeded.clicks[clickI++ % seeded.clicks.length]!), headers: { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15', ...from(clickI) } }) },
    'open pixel /o (200)': { url: chapar.url, next: () => ({ path: prefix(seeded.pixels[openI++ % seeded.pixels.length]!), headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0', ...from(openI) } }) },
    ...(hooks.length > 0
      ? { 'Mailgun webhook, signed (200)': { url: chapar.url, next: () => {
          // Each request a distinct event: replays would be (rightly) stored once, and the count would prove nothing.
          const h = hooks[hookI++]!;
          return { path: h.path, method: 'POST', body: h.body, headers: { 'content-type': 'application/json', ...from(hookI) } };
        } } }
      : {}),
  } as Record<string, { url: string; next: () => { path: string; method?: string; body?: string; headers?: Record<string, string> } }>;

  const runs = new Map<string, Run[]>();
  // Answered (counted by autocannon) and sent: requests in flight when a run ends are sent, and
  // served, but never counted as answered, so a store holds at least the answered and at most the sent.
  const okTotals = { click: 0, open: 0, hook: 0 };
  const sentTotals = { click: 0, open: 0, hook: 0 };
  const tally = (label: string, r: Run) => {
    const k = label.startsWith('click') ? 'click' : label.startsWith('open') ? 'open' : label.startsWith('Mailgun') ? 'hook' : null;
    if (k) {
      okTotals[k] += r.ok;
      sentTotals[k] += r.sent;
    }
  };
  for (const [label, k] of Object.entries(kinds)) {
    tally(label, await load(k.url, 2, k.next));
  }
  // Rounds take turns, so drifting load on this shared machine slows every variant alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [label, k] of Object.entries(kinds)) {
      if (label.startsWith('Mailgun') && hookI + 10_000 > hooks.length) continue;
      const r = await load(k.url, DURATION, k.next);
      runs.set(label, [...(runs.get(label) ?? []), r]);
      tally(label, r);
    }
  }
  await stopServer(chapar.child);
  await stopServer(baseline.child);
  if (profileDir) {
    const { summariseCpuProfile } = await import('./cpuprofile-summary.ts');
    // One profile per thread; the main thread is the busy one (the others are tsx's loader and build threads).
    const busiest = readdirSync(profileDir)
      .map((f) => summariseCpuProfile(join(profileDir, f), ROOT))
      .sort((a, b) => busy(b) - busy(a));
    for (const p of busiest.slice(0, 1)) {
      const show = (title: string, xs: { name: string; ms: number; share: number }[]) => console.log(`\n${title}\n${xs.slice(0, 25).map((x) => `  ${(x.share * 100).toFixed(1).padStart(5)}%  ${x.name}`).join('\n')}`);
      show('server CPU by area (self time)', p.selfByArea);
      show('server CPU by function (self time)', p.selfByFunction);
      show('server CPU by function (inclusive)', p.inclusiveByFunction);
    }
  }

  const base = median(runs.get('baseline: bare Fastify GET → 200')!.map((r) => r.rps));
  for (const [label, rs] of runs) {
    const rps = median(rs.map((r) => r.rps));
    const p99 = median(rs.map((r) => r.p99));
    const errors = rs.reduce((n, r) => n + r.errors, 0);
    console.log(`${label.padEnd(36)} ${Math.round(rps).toLocaleString('en').padStart(7)} req/s  p50 ${median(rs.map((r) => r.p50)).toFixed(1).padStart(5)} ms  p99 ${p99.toFixed(1).padStart(5)} ms  ${((rps / base) * 100).toFixed(0).padStart(4)}% of baseline  errors ${errors}`);
  }

  // Count what Chapar stored against what it answered.
  const db = openDatabase({ url: join(dir, 'chapar.db') });
  const count = async (type: string, source: string) => Number((await db.k.selectFrom('events').select(({ fn }) => fn.countAll().as('n')).where('type', '=', type).where('source', '=', source).executeTakeFirstOrThrow()).n);
  const clicks = await count('email_clicked', 'tracking');
  const opens = await count('email_opened', 'tracking');
  const hooked = hooks.length > 0 ? await count('email_delivered', 'mailgun') : 0;
  await db.close();
  const check = (name: string, stored: number, k: 'click' | 'open' | 'hook') => {
    const ok = stored >= okTotals[k] && stored <= sentTotals[k];
    console.log(`${name.padEnd(16)} stored ${stored.toLocaleString('en').padStart(9)}   answered ${okTotals[k].toLocaleString('en').padStart(9)}   sent ${sentTotals[k].toLocaleString('en').padStart(9)}   ${ok ? 'none lost' : 'MISMATCH'}`);
    return ok;
  };
  console.log('');
  const fine = [check('click events', clicks, 'click'), check('open events', opens, 'open'), ...(hooks.length > 0 ? [check('webhook events', hooked, 'hook')] : [])].every(Boolean);
  console.log(fine ? 'no event lost' : 'EVENTS LOST OR INVENTED: see above');
  if (!fine) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
