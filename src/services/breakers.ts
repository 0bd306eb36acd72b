import { selectBreakers, selectOutcomeCounts, upsertBreaker, type BreakerRow } from '../db/queries/breakers.ts';
import { breakerWindowStart, DEFAULT_BREAKER_CONFIG, judgeBreaker, type BreakerConfig, type BreakerState } from '../domain/circuit-breaker.ts';
import { AppError } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';

// The circuit breakers' memory: every worker re-judges each transport and campaign from the outbox
// now and then (domain/circuit-breaker decides) and writes a change of state with its reason. A
// pause stays until an operator resumes it; a slow-down lifts by itself when the figures recover.

export interface BreakerView {
  scope: string;
  state: BreakerState;
  reason: string | null;
  changedAt: number;
  resumedAt: number | null;
}

export async function listBreakers(ctx: ServiceContext): Promise<BreakerView[]> {
  return (await selectBreakers(ctx.db)).map((b) => ({ ...b, state: b.state as BreakerState }));
}

/** An operator's resume: sends go on, and only what happens from now on counts. */
export async function resumeBreaker(ctx: ServiceContext, scope: string): Promise<BreakerView> {
  const current = (await selectBreakers(ctx.db)).find((b) => b.scope === scope);
  if (!current) throw new AppError('not_found', `no circuit breaker "${scope}" has tripped`);
  const now = ctx.clock.now();
  const row: BreakerRow = { scope, state: 'normal', reason: `resumed by an operator (was ${current.state}: ${current.reason ?? ''})`, changedAt: now, resumedAt: now };
  await upsertBreaker(ctx.db, row);
  ctx.logger.warn({ scope }, 'circuit breaker resumed by an operator');
  ctx.wakeDelivery();
  return { ...row, state: 'normal' };
}

/** The breakers as a worker applies them: state by scope, refreshed by `evaluate`. */
export class BreakerBoard {
  private states = new Map<string, BreakerRow>();
  constructor(
    private readonly ctx: ServiceContext,
    private readonly config: BreakerConfig = DEFAULT_BREAKER_CONFIG,
  ) {}

  /** The rate factor for a send: 0 when any of its scopes is paused, the slow factor when slowed. */
  factor(scopes: readonly string[]): { factor: number; reason: string | null } {
    let factor = 1;
    let reason: string | null = null;
    for (const s of scopes) {
      const b = this.states.get(s);
      if (!b || b.state === 'normal') continue;
      const f = b.state === 'paused' ? 0 : this.config.slowFactor;
      if (f < factor) {
        factor = f;
        reason = `${s} ${b.reason ?? b.state}`;
      }
    }
    return { factor, reason };
  }

  /** Re-judges every scope with sends in the window and records changes. */
  async evaluate(): Promise<void> {
    const { ctx, config } = this;
    const now = ctx.clock.now();
    const stored = new Map((await selectBreakers(ctx.db)).map((b) => [b.scope, b]));
    // The oldest possible window; each scope's own start (its resume) is applied below.
    const counts = await selectOutcomeCounts(ctx.db, breakerWindowStart(now, config));
    const resumedCounts = new Map<string, Awaited<ReturnType<typeof selectOutcomeCounts>>[number]>();
    for (const b of stored.values()) {
      if (b.resumedAt != null && b.resumedAt > now - config.windowMs) {
        for (const c of await selectOutcomeCounts(ctx.db, b.resumedAt)) if (c.scope === b.scope) resumedCounts.set(b.scope, c);
      }
    }
    for (const c of counts) {
      const prior = stored.get(c.scope);
      const figures = resumedCounts.get(c.scope) ?? (prior?.resumedAt != null && prior.resumedAt > now - config.windowMs ? { ...c, sent: 0, hardBounces: 0, complaints: 0 } : c);
      const verdict = judgeBreaker(figures, config, { now, resumedAt: prior?.resumedAt ?? null });
      // A pause holds until an operator resumes it, whatever the figures do meanwhile.
      if (prior?.state === 'paused') continue;
      if ((prior?.state ?? 'normal') !== verdict.state) {
        const row: BreakerRow = { scope: c.scope, state: verdict.state, reason: verdict.reason, changedAt: now, resumedAt: prior?.resumedAt ?? null };
        await upsertBreaker(ctx.db, row);
        stored.set(c.scope, row);
        const log = verdict.state === 'normal' ? ctx.logger.info.bind(ctx.logger) : ctx.logger.warn.bind(ctx.logger);
        log({ scope: c.scope, state: verdict.state, reason: verdict.reason }, `circuit breaker: ${c.scope} ${verdict.state}`);
      }
    }
    this.states = stored;
  }
}
