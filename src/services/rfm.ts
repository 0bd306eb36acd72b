import { inTransaction } from '../db/database.ts';
import { clearStaleRfmScores, countRfmGroups, upsertRfmScores } from '../db/queries/rfm.ts';
import { RFM_GROUPS } from '../domain/rfm.ts';
import type { ServiceContext } from './context.ts';

/** What an RFM run did: how many buyers were scored, how many lost their scores, and the group sizes. */
export interface RfmOutcome {
  scored: number;
  cleared: number;
  scoredAt: number;
  groups: Record<string, number>;
}

/**
 * Scores every buyer's recency, frequency and monetary value 1–5 by quintile over purchase orders
 * (domain/rfm.ts) and names their group; contacts without a purchase any more lose their scores.
 * One transaction: segments reading RFM never see half a run.
 */
export async function refreshRfm(ctx: ServiceContext): Promise<RfmOutcome> {
  const now = ctx.clock.now();
  const started = Date.now();
  const { scored, cleared } = await inTransaction(ctx.db, async (tx) => ({ scored: await upsertRfmScores(tx, now), cleared: await clearStaleRfmScores(tx, now) }));
  const groups = Object.fromEntries(RFM_GROUPS.map((g) => [g, 0]));
  for (const g of await countRfmGroups(ctx.db)) groups[g.group] = g.contacts;
  ctx.logger.info({ scored, cleared, ms: Date.now() - started }, 'RFM scored');
  return { scored, cleared, scoredAt: now, groups };
}
