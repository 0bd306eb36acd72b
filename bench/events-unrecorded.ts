// A diagnostic server for bench:events, in its own process like the others: Chapar's own click and
// pixel fast path (src/http/public/tracking-fast-path.ts: the same parsing, per-IP limit, signature
// check and answer, from the same secret and data directory), with every group of hits handed to a
// writer that discards it. Beside the real click run it shows what recording costs on this
// machine; beside the baseline, what everything else costs. Not a product configuration.
import { createServer } from 'node:http';
import pino from 'pino';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config/config.ts';
import { createTrackingFastPath } from '../src/http/public/tracking-fast-path.ts';
import { createMemoryRateLimiter } from '../src/lib/rate-limiter.ts';
import { TrackingRecorder } from '../src/services/tracking.ts';

const logger = pino({ level: 'warn' });
const config = loadConfig(process.env);
const app = await createApp(config, { logger, env: process.env });
const recorder = new TrackingRecorder(app.ctx, { write: async () => {} });
// The limit of the public links, as buildHttpServer sets it.
const fast = createTrackingFastPath({ tracking: recorder, perIp: createMemoryRateLimiter(app.ctx.clock, 300, 60_000), trustProxy: config.trustProxy, logger });
const server = createServer((req, res) => {
  if (fast(req, res)) return;
  res.writeHead(404).end();
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address() as { port: number };
  process.stdout.write(`listening on http://127.0.0.1:${a.port}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  void recorder.close().then(() => app.close()).then(() => process.exit(0));
});
