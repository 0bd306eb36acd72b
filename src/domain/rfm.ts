// RFM: each buyer's recency (last purchase), frequency (number of purchases) and monetary value
// (sum spent) scored 1–5 by quintile over completed purchases, then named by the widely used R×F
// grid (monetary is kept as a score for segments but, as in that grid, does not pick the group).
//
//   R \ F |  1              2                  3                  4        5
//   ------+---------------------------------------------------------------------------
//   5     |  new            potential_loyalist potential_loyalist champions champions
//   4     |  promising      potential_loyalist potential_loyalist loyal     loyal
//   3     |  about_to_sleep about_to_sleep     need_attention     loyal     loyal
//   2     |  hibernating    hibernating        at_risk            at_risk   cant_lose
//   1     |  lost           hibernating        at_risk            at_risk   cant_lose
//
// The grid's usual ten groups plus `lost` for the bottom corner (R1 F1: one old purchase, long ago).

/** The named RFM groups, best to worst. */
export const RFM_GROUPS = [
  'champions',
  'loyal',
  'potential_loyalist',
  'new',
  'promising',
  'need_attention',
  'about_to_sleep',
  'at_risk',
  'cant_lose',
  'hibernating',
  'lost',
] as const;
export type RfmGroup = (typeof RFM_GROUPS)[number];

/** Display names of the groups. */
export const RFM_GROUP_NAMES: Record<RfmGroup, string> = {
  champions: 'Champions',
  loyal: 'Loyal',
  potential_loyalist: 'Potential loyalist',
  new: 'New',
  promising: 'Promising',
  need_attention: 'Need attention',
  about_to_sleep: 'About to sleep',
  at_risk: 'At risk',
  cant_lose: "Can't lose",
  hibernating: 'Hibernating',
  lost: 'Lost',
};

/** The grid above as rules, first match wins: [recency scores, frequency scores, group]. */
export const RFM_GRID: readonly (readonly [readonly number[], readonly number[], RfmGroup])[] = [
  [[1], [1], 'lost'],
  [[1, 2], [1, 2], 'hibernating'],
  [[1, 2], [3, 4], 'at_risk'],
  [[1, 2], [5], 'cant_lose'],
  [[3], [1, 2], 'about_to_sleep'],
  [[3], [3], 'need_attention'],
  [[3, 4], [4, 5], 'loyal'],
  [[4], [1], 'promising'],
  [[5], [1], 'new'],
  [[4, 5], [2, 3], 'potential_loyalist'],
  [[5], [4, 5], 'champions'],
];

/** The group of a recency and frequency score (1–5 each). */
export function rfmGroupOf(recency: number, frequency: number): RfmGroup {
  for (const [rs, fs, group] of RFM_GRID) if (rs.includes(recency) && fs.includes(frequency)) return group;
  throw new RangeError(`RFM scores out of range: R${recency} F${frequency}`);
}

/**
 * The quintile score (1–5) of a value ranked `rank` (1 = lowest, ties share the lowest rank) among
 * `count`: ties always share a score, unlike NTILE, which splits equal values across buckets
 * arbitrarily (thousands of one-time buyers would get frequency 1, 2 and 3 at random).
 */
export function quintileOf(rank: number, count: number): number {
  return 1 + Math.floor((5 * (rank - 1)) / count);
}
