import { DEFAULT_THROTTLE_CONFIG, isThrottleReply, onDelivered, onThrottled, startThrottle, throttledRate, type ThrottleConfig, type ThrottleState } from '../domain/adaptive-throttle.ts';
import { domainGroup, parseGroupLimits, type DomainGroup, type GroupLimits } from '../domain/recipient-domains.ts';
import type { TransportDefinition } from '../domain/transports.ts';
import { parseWarmupPlan, warmupCapFor, type WarmupPlan } from '../domain/warmup.ts';
import type { Clock } from '../lib/clock.ts';
import type { SendResult } from '../ports/mail-transport.ts';
import type { SendLimiter, BucketSpec } from '../ports/send-limiter.ts';
import type { BreakerBoard } from './breakers.ts';
import type { Admission, SendGate } from './delivery.ts';

// The gates every send passes, in this order: the circuit breakers (a paused transport or campaign
// holds marketing mail), the warm-up day's cap (marketing only: transactional mail is never held by
// it), the token buckets (the transport's messages per second, and per recipient-domain group for
// SMTP transports, at the adaptive throttle's current rate), then the connection slots. Buckets,
// caps and slots live in the SendLimiter, so every worker in every process shares them.

export interface SendGateDeps {
  limiter: SendLimiter;
  breakers: BreakerBoard;
  /** Unique per worker: slot holders are `<owner>:<n>`. */
  owner: string;
  clock: Clock;
  throttle?: ThrottleConfig;
}

/** How long a held marketing message waits before it looks at a paused breaker again. */
const PAUSE_RECHECK_MS = 60_000;
/** A full set of slots is tried again this soon. */
const SLOT_RETRY_MS = 50;
/** How long a send waits in the worker for a connection slot before going back to the queue. */
const SLOT_WAIT_MS = 1000;
const SLOT_LEASE_MS = 10 * 60_000;

export function createSendGate(deps: SendGateDeps): SendGate {
  const throttle = deps.throttle ?? DEFAULT_THROTTLE_CONFIG;
  // Adaptive throttle state per (transport, domain group). Kept per worker: each halves its own
  // rate on a throttling reply; the shared bucket then runs at the slowest worker's rate.
  const throttles = new Map<string, ThrottleState>();
  const plans = new WeakMap<object, WarmupPlan | null>();
  const limitsOf = new WeakMap<object, Record<DomainGroup, GroupLimits> | null>();
  let holder = 0;
  // Sends of this process waiting for a connection slot: woken as soon as one of ours is freed.
  const slotWaiters = new Set<() => void>();
  const wakeSlotWaiters = () => {
    for (const w of [...slotWaiters]) w();
  };

  const planOf = (def: TransportDefinition): WarmupPlan | null => {
    if (!def.warmup) return null;
    const key = def as object;
    if (!plans.has(key)) plans.set(key, parseWarmupPlan(def.warmup));
    return plans.get(key)!;
  };
  // Per-domain-group limits apply where Chapar itself talks to the receivers' servers (SMTP);
  // an ESP or capture paces the receivers itself. `settings.domainLimits: false` switches them off
  // (a local relay such as Postfix that has its own per-destination limits).
  const groupLimitsOf = (def: TransportDefinition | null): Record<DomainGroup, GroupLimits> | null => {
    if (!def || def.kind !== 'smtp' || def.settings.domainLimits === false) return null;
    const key = def as object;
    if (!limitsOf.has(key)) limitsOf.set(key, parseGroupLimits(def.settings.domainLimits ?? undefined, 'settings/domainLimits'));
    return limitsOf.get(key)!;
  };

  // A throttling reply seen by any worker (this process or another, through the limiter's
  // wake-ups) halves this worker's rate to that receiver as well, so all slow down together.
  const listenForThrottling = (key: string, configured: number) => {
    void deps.limiter
      .onWake(`throttle:${key}`, () => {
        const state = throttles.get(key);
        if (state) throttles.set(key, onThrottled(state, configured, throttle, deps.clock.now()));
      })
      .catch(() => undefined);
  };

  return {
    async admit(def, msg, now): Promise<Admission> {
      const name = def?.name ?? 'capture';
      const scopes = [`transport:${name}`, ...(msg.campaignId !== null ? [`campaign:${msg.campaignId}`] : [])];
      const breaker = msg.stream === 'marketing' ? deps.breakers.factor(scopes) : { factor: 1, reason: null };
      if (breaker.factor === 0) return { ok: false, retryAt: now + PAUSE_RECHECK_MS, reason: `held: circuit breaker ${breaker.reason}` };

      const groups = groupLimitsOf(def);
      const group = domainGroup(msg.recipientDomain);
      const throttleKey = `${name}:${group}`;

      // Connection slots first, so a message waiting for one takes no rate token meanwhile.
      const id = `${deps.owner}:${++holder}`;
      const wanted: [string, number][] = [];
      if (def?.maxConnections) wanted.push([`conn:${name}`, def.maxConnections]);
      if (groups) wanted.push([`conn:${name}:${group}`, groups[group].concurrency]);
      const slots: string[] = [];
      const releaseSlots = async () => {
        if (slots.length === 0) return;
        for (const k of slots.splice(0)) await deps.limiter.releaseSlot(k, id).catch(() => false);
        wakeSlotWaiters();
      };
      const slotDeadline = Date.now() + SLOT_WAIT_MS;
      for (let i = 0; i < wanted.length; ) {
        const [key, max] = wanted[i]!;
        if (await deps.limiter.acquireSlot(key, max, id, SLOT_LEASE_MS, deps.clock.now())) {
          slots.push(key);
          i++;
          continue;
        }
        await releaseSlots();
        // Woken when a send of this process ends (a slot freed here), else after a short poll for
        // slots other processes free; a long wait goes back to the queue.
        if (Date.now() >= slotDeadline) return { ok: false, retryAt: now + SLOT_RETRY_MS, reason: `all connections of ${key.slice(5)} busy` };
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, SLOT_RETRY_MS);
          function done() {
            clearTimeout(timer);
            slotWaiters.delete(done);
            resolve();
          }
          slotWaiters.add(done);
        });
        i = 0;
      }

      let counted: string | null = null;
      const plan = def && msg.stream === 'marketing' && def.warmupStartedAt !== null ? planOf(def) : null;
      if (plan && def) {
        const day = warmupCapFor(plan, def.warmupStartedAt!, now);
        if (day) {
          const key = `warmup:${name}:${day.dayKey}`;
          const r = await deps.limiter.countIfBelow(key, day.cap, day.dayEndsAt, now);
          if (!r.ok) {
            await releaseSlots();
            return { ok: false, retryAt: day.dayEndsAt, reason: `held: warm-up day ${day.dayIndex + 1} cap of ${day.cap} reached on ${name}` };
          }
          counted = key;
        }
      }
      const giveBack = async () => {
        if (counted) await deps.limiter.uncount(counted);
      };

      const buckets: BucketSpec[] = [];
      if (def?.maxPerSecond) {
        const rate = def.maxPerSecond * breaker.factor;
        buckets.push({ key: `rate:transport:${name}`, perSecond: rate, burst: Math.max(1, Math.ceil(rate)) });
      }
      if (groups) {
        const limits = groups[group];
        let state = throttles.get(throttleKey);
        if (!state) {
          throttles.set(throttleKey, (state = startThrottle(limits.perSecond, now)));
          listenForThrottling(throttleKey, limits.perSecond);
        }
        const rate = throttledRate(state, limits.perSecond) * breaker.factor;
        buckets.push({ key: `rate:${name}:${group}`, perSecond: rate, burst: Math.max(1, Math.min(limits.burst, Math.ceil(rate))) });
      }
      if (buckets.length > 0) {
        const taken = await deps.limiter.take(buckets, now);
        if (!taken.ok) {
          await giveBack();
          await releaseSlots();
          return { ok: false, retryAt: now + Math.max(1, taken.retryInMs), reason: `rate limit of ${name}` };
        }
      }

      return {
        ok: true,
        done(result: SendResult) {
          void releaseSlots();
          if (groups) {
            const limits = groups[group];
            const state = throttles.get(throttleKey)!;
            const at = deps.clock.now();
            if (result.status === 'deferred' && isThrottleReply(result)) {
              throttles.set(throttleKey, onThrottled(state, limits.perSecond, throttle, at));
              // Every other worker slows down too (their own replies within the settle time do not halve again).
              void deps.limiter.wake(`throttle:${throttleKey}`).catch(() => undefined);
            }
            else if (result.status === 'sent') throttles.set(throttleKey, onDelivered(state, limits.perSecond, throttle, at));
          }
        },
      };
    },
  };
}
