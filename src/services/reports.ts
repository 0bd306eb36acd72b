import { selectEngagementCounts, selectOutcomeTotals, type ReportScope } from '../db/queries/reports.ts';
import type { ServiceContext } from './context.ts';

/** Hits of one kind: all of them, and how many messages had at least one; people and machines apart. */
export interface HitCounts {
  total: number;
  unique: number;
  machineTotal: number;
  machineUnique: number;
}

/** The KPIs of a set of messages. Rates are over delivered messages (sent minus bounced) and leave machines out. */
export interface EngagementReport {
  scope: ReportScope;
  sent: number;
  delivered: number;
  confirmedDelivered: number;
  bounces: { hard: number; soft: number; policy: number };
  complaints: number;
  suppressed: number;
  failed: number;
  unsubscribes: number;
  opens: HitCounts;
  clicks: HitCounts;
  rates: { bounce: number; complaint: number; open: number; click: number; clickToOpen: number; unsubscribe: number };
}

/** Counts what became of the messages in a scope, from the outbox and the event stream. */
export async function engagementReport(ctx: ServiceContext, scope: ReportScope): Promise<EngagementReport> {
  const o = await selectOutcomeTotals(ctx.db, scope);
  const counts = await selectEngagementCounts(ctx.db, scope);
  const hits = (type: string): HitCounts => {
    const person = counts.find((c) => c.type === type && !c.machine);
    const machine = counts.find((c) => c.type === type && c.machine);
    return { total: person?.total ?? 0, unique: person?.unique ?? 0, machineTotal: machine?.total ?? 0, machineUnique: machine?.unique ?? 0 };
  };
  const opens = hits('email_opened');
  const clicks = hits('email_clicked');
  const unsubscribes = hits('unsubscribed');
  const delivered = o.sent - o.hardBounces - o.softBounces - o.policyBlocks;
  const rate = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10_000) / 10_000 : 0);
  return {
    scope,
    sent: o.sent,
    delivered,
    confirmedDelivered: hits('email_delivered').unique + hits('email_delivered').machineUnique,
    bounces: { hard: o.hardBounces, soft: o.softBounces, policy: o.policyBlocks },
    complaints: o.complaints,
    suppressed: o.suppressed,
    failed: o.failed,
    unsubscribes: unsubscribes.unique + unsubscribes.machineUnique,
    opens,
    clicks,
    rates: {
      bounce: rate(o.hardBounces + o.softBounces + o.policyBlocks, o.sent),
      complaint: rate(o.complaints, delivered),
      open: rate(opens.unique, delivered),
      click: rate(clicks.unique, delivered),
      clickToOpen: rate(clicks.unique, opens.unique),
      unsubscribe: rate(unsubscribes.unique + unsubscribes.machineUnique, delivered),
    },
  };
}
