// One side of `npm run bench:send` (bench/send.ts runs it as child processes):
//   prepare N   — store settings, a DKIM RSA-2048 key, an SMTP transport to the sink, the starter
//                 order confirmation (MJML; ~20 KB messages), and N queued messages (timed apart: not part of the send rate)
//   drain       — one delivery worker process: claims, builds in threads, signs, sends, records,
//                 until nothing is queued; prints {"sent":…, "seconds":…} (from first claim to last outcome)
// Environment: DATABASE_URL, CHAPAR_SECRET, SINK_PORT, CHAPAR_BUILD_THREADS, CHAPAR_DELIVERY_CONCURRENCY.
import pino from 'pino';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app.ts';
import { createTransportFactory } from '../src/adapters/transports/factory.ts';
import { loadConfig } from '../src/config/config.ts';
import { startDelivery } from '../src/delivery.ts';
import { createDkimKey } from '../src/services/dkim-keys.ts';
import { enqueueMessage } from '../src/services/messages.ts';
import { updateStoreSettings } from '../src/services/store-settings.ts';
import { renderTemplate } from '../src/services/templates.ts';
import { installStarterTemplates } from '../src/services/starter-templates.ts';
import { sampleContext } from '../src/services/template-samples.ts';
import { buildMime } from '../src/templates/compose.ts';
import { saveTransport } from '../src/services/transports.ts';
import { sql } from 'kysely';

const [mode, count] = process.argv.slice(2);
const env = { ...process.env, LOG_LEVEL: 'warn' };
const app = await createApp(loadConfig(env), { logger: pino({ level: 'warn' }), env });
const { ctx } = app;

if (mode === 'prepare') {
  const n = Number(count);
  await updateStoreSettings(ctx, { name: 'Bench Shop', address: '12 Bench St, Tehran', sendingDomain: 'shop.example', bounceDomain: 'b.shop.example' });
  await createDkimKey(ctx, { domain: 'shop.example', selector: 'bench', algorithm: 'rsa-sha256' });
  await saveTransport(ctx, createTransportFactory({ db: ctx.db, clock: ctx.clock }), {
    name: 'sink', kind: 'smtp', maxConnections: 16,
    settings: { host: '127.0.0.1', port: Number(process.env.SINK_PORT), starttls: 'opportunistic', name: 'bench.shop.example', domainLimits: false, maxMessagesPerConnection: 1000 },
  }, 'create');
  // The starter order confirmation (MJML, compiled once), with a realistic order for every message.
  await installStarterTemplates(ctx, ['order-confirmation']);
  const context = sampleContext('en', 'USD', Date.now(), 'https://shop.example');
  const sample = await renderTemplate(ctx, 'order-confirmation', { context });
  console.error(`message size: ${(await buildMime(sample.message, Date.now())).length.toLocaleString('en')} bytes before signing`);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const order = { ...(context.order as object), number: String(100000 + i) };
    await enqueueMessage(ctx, { idempotencyKey: `tx:bench-${i}`, source: 'tx', templateKey: 'order-confirmation', to: `customer${i}@example.com`, data: { ...context, order } });
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ queued: n, seconds: secs }));
} else if (mode === 'drain') {
  const delivery = await startDelivery(app, { start: false });
  const t0 = performance.now();
  let sent = 0;
  for (let n = await delivery.worker.drain(); n > 0; n = await delivery.worker.drain()) sent += n;
  const secs = (performance.now() - t0) / 1000;
  await delivery.stop();
  const rows = await sql<{ status: string; n: number }>`SELECT status, COUNT(*) AS n FROM messages GROUP BY status`.execute(ctx.db.k);
  console.log(JSON.stringify({ handled: sent, seconds: secs, statuses: Object.fromEntries(rows.rows.map((r) => [r.status, Number(r.n)])) }));
} else {
  console.error('usage: send-chapar.ts prepare N | drain');
  process.exitCode = 2;
}
await app.close();
