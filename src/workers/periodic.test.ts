import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ServiceContext } from '../services/context.ts';
import { startPeriodic } from './periodic.ts';

describe('startPeriodic', () => {
  it('never overlaps two passes, logs a failed one and goes on, and stop() waits for the running pass', async () => {
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line).msg) });
    let running = 0;
    let most = 0;
    let passes = 0;
    let finished = 0;
    const job = startPeriodic({ logger } as unknown as ServiceContext, 'test sweep', 2, async () => {
      passes++;
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 15));
      running--;
      finished++;
      if (passes === 1) throw new Error('first pass fails');
    });
    while (passes < 3) await new Promise((r) => setTimeout(r, 5));
    await job.stop();
    expect(running).toBe(0);
    expect(finished).toBe(passes);
    const after = passes;
    await new Promise((r) => setTimeout(r, 20));
    expect(passes).toBe(after);
    expect(most).toBe(1);
    expect(errors).toEqual(['test sweep failed']);
  });
});
