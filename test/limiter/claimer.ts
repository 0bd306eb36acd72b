// A worker process for the cross-process limiter test: connects to Redis, says "ready", waits for
// "go" on stdin (so both processes start together), then makes `count` claims (20 at a time) against
// one daily cap and one token bucket, and prints how many of each it got as one JSON line.
import { createRedisSendLimiter } from '../../src/adapters/limiter/redis.ts';

const [url, keyPrefix, countArg, capArg, burstArg, nowArg] = process.argv.slice(2);
const count = Number(countArg);
const cap = Number(capArg);
const burst = Number(burstArg);
const now = Number(nowArg);

const limiter = await createRedisSendLimiter({ url: url!, keyPrefix: keyPrefix! });
process.stdout.write('ready\n');
process.stdin.once('data', async () => {
  // Waves of 20 concurrent claims, so the two processes' claims interleave over many round trips.
  const results: { counted: boolean; taken: boolean }[] = [];
  for (let done = 0; done < count; done += 20) {
    const wave = Array.from({ length: Math.min(20, count - done) }, async () => {
      const [counted, taken] = await Promise.all([
        limiter.countIfBelow('warmup:ip1:2026-03-02', cap, now + 3_600_000, now),
        limiter.take([{ key: 'rate:smtp', perSecond: 1, burst }], now),
      ]);
      return { counted: counted.ok, taken: taken.ok };
    });
    results.push(...(await Promise.all(wave)));
  }
  process.stdout.write(`${JSON.stringify({ counted: results.filter((r) => r.counted).length, taken: results.filter((r) => r.taken).length })}\n`);
  await limiter.close();
  process.exit(0);
});
