import { AppError, type ErrorDetail } from '../lib/errors.ts';

/**
 * The circuit breaker: the engine slows itself down, then stops marketing sends, before a sender's
 * reputation is hurt. It judges one transport or one campaign from the counts of messages sent and
 * of hard bounces and complaints within a sliding window. Pure: the delivery service counts the
 * events (from `breakerWindowStart`) and applies the verdict (rate × `rateFactor`; 'paused' holds
 * marketing sends until an operator resumes). An operator's resume is a time: from then on only
 * later events count, so the same old figures don't pause it again at once, and the minimum sample
 * has to be reached anew before a new verdict.
 */

export interface BreakerConfig {
  /** The sliding window (ms). */
  windowMs: number;
  /** Fewer sends than this in the window are too few to judge (1 bounce out of 3 is not 33 %). */
  minSent: number;
  /** A rate is only judged once at least this many of its events happened (one complaint is noise). */
  minEvents: number;
  /** Above these rates (fractions: 0.02 = 2 %), sends are slowed. */
  slowBounceRate: number;
  slowComplaintRate: number;
  /** Above these, marketing sends are paused. */
  pauseBounceRate: number;
  pauseComplaintRate: number;
  /** The rate multiplier while slowed. */
  slowFactor: number;
}

/**
 * Defaults. Thresholds as the issue sets them: hard bounces above 2 % or complaints above 0.1 % slow
 * down (Klaviyo's "needs attention" bounce level; Gmail's "keep below 0.1 %" spam rate), above 5 % /
 * 0.3 % pause (SES's review level for bounces; Gmail's and Yahoo's 0.3 % ceiling for spam). The window
 * is 24 hours because the providers compute spam rates per day, and bounces and most complaints
 * arrive within hours of a send. At least 100 sends (the first 10 % of a 1,000-recipient campaign,
 * where a list's bad addresses already show) and 2 events of a kind before that rate is judged.
 */
export const DEFAULT_BREAKER_CONFIG: Readonly<BreakerConfig> = {
  windowMs: 24 * 3_600_000,
  minSent: 100,
  minEvents: 2,
  slowBounceRate: 0.02,
  slowComplaintRate: 0.001,
  pauseBounceRate: 0.05,
  pauseComplaintRate: 0.003,
  slowFactor: 0.5,
};

/** What happened in the window. */
export interface BreakerCounts {
  sent: number;
  hardBounces: number;
  complaints: number;
}

export type BreakerState = 'normal' | 'slowed' | 'paused';

/** The verdict, with the figures behind it in `reason` (shown in the API and recorded on a pause). */
export interface BreakerVerdict {
  state: BreakerState;
  /** Multiply the sending rate by this: 1 normal, `slowFactor` slowed, 0 paused. */
  rateFactor: number;
  reason: string;
  bounceRate: number;
  complaintRate: number;
}

/** Where the window starts at `now`: 24 h (the window) back, or the operator's resume if later. */
export function breakerWindowStart(now: number, config: BreakerConfig, resumedAt?: number | null): number {
  return Math.max(now - config.windowMs, resumedAt ?? -Infinity);
}

/** Judges the counts of the window that `breakerWindowStart(now, config, resumedAt)` gives. */
export function judgeBreaker(counts: BreakerCounts, config: BreakerConfig, opts: { now: number; resumedAt?: number | null }): BreakerVerdict {
  const since = opts.resumedAt != null && opts.resumedAt > opts.now - config.windowMs
    ? `since the resume at ${new Date(opts.resumedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`
    : `in the last ${describeWindow(config.windowMs)}`;
  const { sent, hardBounces, complaints } = counts;
  const bounceRate = sent > 0 ? hardBounces / sent : 0;
  const complaintRate = sent > 0 ? complaints / sent : 0;
  const figures = { bounceRate, complaintRate };
  if (sent < config.minSent) {
    return { state: 'normal', rateFactor: 1, reason: `${fmt(sent)} sent ${since}: too few to judge (at least ${fmt(config.minSent)} needed)`, ...figures };
  }

  const measures = [
    { name: 'hard bounces', events: hardBounces, rate: bounceRate, slow: config.slowBounceRate, pause: config.pauseBounceRate, digits: 2 },
    { name: 'complaints', events: complaints, rate: complaintRate, slow: config.slowComplaintRate, pause: config.pauseComplaintRate, digits: 3 },
  ];
  let state: BreakerState = 'normal';
  const over: string[] = [];
  const within: string[] = [];
  for (const m of measures) {
    const figure = `${m.name} ${fmt(m.events)} of ${fmt(sent)} sent (${percent(m.rate, m.digits)})`;
    const level = m.events < config.minEvents ? 'normal' : m.rate > m.pause ? 'paused' : m.rate > m.slow ? 'slowed' : 'normal';
    if (level === 'normal') {
      within.push(figure);
      continue;
    }
    const threshold = level === 'paused' ? m.pause : m.slow;
    over.push(`${figure} above the ${level === 'paused' ? 'pause' : 'slow-down'} threshold of ${percent(threshold)}`);
    if (level === 'paused' || state === 'normal') state = level;
  }
  if (state === 'normal') return { state, rateFactor: 1, reason: `${within.join(', ')} ${since}: within limits`, ...figures };
  return {
    state,
    rateFactor: state === 'paused' ? 0 : config.slowFactor,
    reason: `${state === 'paused' ? 'paused' : 'slowed'}: ${over.join('; ')} ${since}`,
    ...figures,
  };
}

/** Validates overrides of the defaults (config or API); throws one error naming every bad field. */
export function parseBreakerConfig(input: unknown, field = 'circuitBreaker'): BreakerConfig {
  const config: BreakerConfig = { ...DEFAULT_BREAKER_CONFIG };
  if (input === undefined || input === null) return config;
  const details: ErrorDetail[] = [];
  const fraction = (n: number) => n >= 0 && n <= 1;
  const rules: Record<keyof BreakerConfig, [(n: number) => boolean, string]> = {
    windowMs: [(n) => Number.isInteger(n) && n >= 60_000 && n <= 30 * 86_400_000, 'a whole number of milliseconds from 1 minute to 30 days'],
    minSent: [(n) => Number.isInteger(n) && n >= 1, 'a whole number of at least 1'],
    minEvents: [(n) => Number.isInteger(n) && n >= 1, 'a whole number of at least 1'],
    slowBounceRate: [fraction, 'a fraction from 0 to 1 (0.02 = 2 %)'],
    slowComplaintRate: [fraction, 'a fraction from 0 to 1 (0.001 = 0.1 %)'],
    pauseBounceRate: [fraction, 'a fraction from 0 to 1 (0.05 = 5 %)'],
    pauseComplaintRate: [fraction, 'a fraction from 0 to 1 (0.003 = 0.3 %)'],
    slowFactor: [(n) => n > 0 && n < 1, 'a number between 0 and 1 (exclusive)'],
  };
  if (typeof input !== 'object' || Array.isArray(input)) {
    details.push({ field, message: 'must be an object' });
  } else {
    for (const [name, value] of Object.entries(input)) {
      const rule = rules[name as keyof BreakerConfig];
      if (!rule) details.push({ field: `${field}/${name}`, message: `unknown setting; use ${Object.keys(rules).join(', ')}` });
      else if (typeof value !== 'number' || !Number.isFinite(value) || !rule[0](value)) details.push({ field: `${field}/${name}`, message: `must be ${rule[1]}` });
      else config[name as keyof BreakerConfig] = value;
    }
    for (const kind of ['Bounce', 'Complaint'] as const) {
      const slow = config[`slow${kind}Rate`];
      const pause = config[`pause${kind}Rate`];
      if (details.length === 0 && pause < slow) {
        details.push({ field: `${field}/pause${kind}Rate`, message: `must be at least slow${kind}Rate (${slow})` });
      }
    }
  }
  if (details.length > 0) throw new AppError('validation_failed', `invalid circuit breaker settings: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`, details);
  return config;
}

function fmt(n: number): string {
  return n.toLocaleString('en');
}

/** 0.0213 → "2.13%"; thresholds without float noise (0.001 → "0.1%"). */
function percent(rate: number, digits?: number): string {
  const value = rate * 100;
  return `${digits === undefined ? Number(value.toPrecision(6)) : value.toFixed(digits)}%`;
}

function describeWindow(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 86_400_000) return `${ms / 86_400_000} days`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  return `${Math.round(ms / 60_000)} min`;
}
