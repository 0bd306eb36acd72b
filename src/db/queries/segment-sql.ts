import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../database.ts';
import type { DialectName } from '../dialect.ts';
import { PURCHASE_STATUSES } from '../../domain/store.ts';
import { resolveDateRange, type DateRange } from '../../domain/segment-dates.ts';
import type { AttributeCondition, CartCondition, EmailCondition, EventCondition, NumberTest, PropertyFilter, Scalar, SegmentCondition, SegmentNode, ValueTest } from '../../domain/segments.ts';
import { assertNever } from '../../lib/errors.ts';

// Compiles a checked segment tree (domain/segments.ts) into one query: `SELECT c.id FROM contacts c
// LEFT JOIN contact_metrics m … WHERE …`, with EXISTS subqueries (see hasRow) for orders, carts,
// events and messages. Every value the user wrote is a bound parameter; the only SQL text is written here.
// Every condition compiles to a strict true/false (never NULL: `(…) IS TRUE` around comparisons of
// values that may be missing), so `not` means what it says: a contact without the attribute is
// "not equal to gold".

type Bool = RawBuilder<boolean>;

interface Compile {
  dialect: DialectName;
  now: number;
  usesMetrics: boolean;
  /**
   * Under a `not`: every condition must be strictly true or false. Outside any `not`, NULL and
   * false select the same rows (AND/OR are monotone), so plain comparisons, which the planners can
   * use to turn the metrics LEFT JOIN into an inner join or pick an index, are enough.
   */
  strict: boolean;
}

const PURCHASES = sql.join(PURCHASE_STATUSES.map((s) => sql`${s}`));
/** Message statuses that mean the email reached the recipient's server. */
const RECEIVED = sql.join(['sent', 'complained'].map((s) => sql`${s}`));
const FALSE = sql<boolean>`(1 = 0)`;

/** The compiled segment: a boolean SQL expression over `c` (contacts) and, when needed, `m` (contact_metrics). */
export interface CompiledSegment {
  where: Bool;
  usesMetrics: boolean;
}

/** Compiles a checked tree into its WHERE expression at `now` (relative windows are resolved here). */
export function compileSegmentWhere(dialect: DialectName, node: SegmentNode, now: number): CompiledSegment {
  const cx: Compile = { dialect, now, usesMetrics: false, strict: false };
  const where = compileNode(cx, node);
  return { where, usesMetrics: cx.usesMetrics };
}

/** The members query: ids of the contacts matching `node` at `now`, optionally only among `candidates` (a subquery of contact ids). */
export function selectSegmentContactIds(db: Db, node: SegmentNode, now: number, candidates?: RawBuilder<unknown>) {
  const cart = soleCartCondition(node);
  if (cart) {
    // "Has a cart such that …" alone is answered from carts alone: the contact ids of the matching
    // carts. A non-null carts.contact_id always names a contact (foreign key, ON DELETE SET NULL),
    // so no contacts lookup is needed; neither planner drops that lookup from the IN form itself,
    // which made the abandoned-cart preset 1.7x (SQLite) and 3.4x (PostgreSQL) its hand-written query.
    const cx: Compile = { dialect: db.dialect, now, usesMetrics: false, strict: false };
    let q = db.k.selectFrom('carts as ct').select(sql<number>`ct.contact_id`.as('id')).distinct().where(sql<boolean>`ct.contact_id IS NOT NULL AND ${cartWhere(cx, cart)}`);
    if (candidates) q = q.where(sql<boolean>`ct.contact_id IN (${candidates})`);
    return q;
  }
  if (metricsOnly(node)) {
    // Likewise a tree of order-metric and RFM conditions that a contact without a metrics row
    // always fails (the brief's high-CLV and one-time-buyer presets) is answered from
    // contact_metrics alone (its contact_id is the key, ON DELETE CASCADE): the join with contacts
    // was work the hand-written query in bench:segments does not do.
    const { where } = compileSegmentWhere(db.dialect, node, now);
    let q = db.k.selectFrom('contactMetrics as m').select(sql<number>`m.contact_id`.as('id')).where(where);
    if (candidates) q = q.where(sql<boolean>`m.contact_id IN (${candidates})`);
    return q;
  }
  const { where, usesMetrics } = compileSegmentWhere(db.dialect, node, now);
  let q = db.k.selectFrom('contacts as c').select('c.id').where(where);
  if (usesMetrics) q = q.leftJoin('contactMetrics as m', 'm.contactId', 'c.id');
  if (candidates) q = q.where(sql<boolean>`c.id IN (${candidates})`);
  return q;
}

/** Counts the contacts matching `node` at `now`. */
export async function countSegmentContacts(db: Db, node: SegmentNode, now: number): Promise<number> {
  const { where, usesMetrics } = compileSegmentWhere(db.dialect, node, now);
  let q = db.k.selectFrom('contacts as c').select((eb) => eb.fn.countAll<number>().as('n')).where(where);
  if (usesMetrics) q = q.leftJoin('contactMetrics as m', 'm.contactId', 'c.id');
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.n);
}

function compileNode(cx: Compile, node: SegmentNode): Bool {
  if ('all' in node) return sql<boolean>`(${sql.join(node.all.map((n) => compileNode(cx, n)), sql` AND `)})`;
  if ('any' in node) return sql<boolean>`(${sql.join(node.any.map((n) => compileNode(cx, n)), sql` OR `)})`;
  if ('not' in node) {
    const outer = cx.strict;
    cx.strict = true;
    const inner = compileNode(cx, node.not);
    cx.strict = outer;
    return sql<boolean>`(NOT ${inner})`;
  }
  return compileCondition(cx, node);
}

function compileCondition(cx: Compile, c: SegmentCondition): Bool {
  switch (c.type) {
    case 'attribute':
      return compileAttribute(cx, c);
    case 'topic':
      return c.status === 'none'
        ? sql`(NOT ${hasRow(sql`subscriptions s JOIN topics t ON t.id = s.topic_id`, 's', sql`t.key = ${c.topic}`)})`
        : hasRow(sql`subscriptions s JOIN topics t ON t.id = s.topic_id`, 's', sql`t.key = ${c.topic} AND s.status = ${c.status}`);
    case 'order_count':
    case 'total_spent':
    case 'average_order_value': {
      if (!c.window) {
        cx.usesMetrics = true;
        const column = { order_count: sql`m.orders_count`, total_spent: sql`m.total_spent`, average_order_value: sql`m.average_order_value` }[c.type];
        // A contact without a metrics row has 0: needed when 0 passes, or under a `not`.
        return numberTest(cx, cx.strict || passes(c, 0) ? sql`COALESCE(${column}, 0)` : column, c);
      }
      const agg = { order_count: sql`COUNT(*)`, total_spent: sql`SUM(o.total - o.refunded)`, average_order_value: sql`AVG(o.total - o.refunded)` }[c.type];
      const purchases = sql`o.status IN (${PURCHASES})${timeIn(cx, sql`o.ordered_at`, c.window)}`;
      return numberTest(cx, sql`COALESCE((SELECT ${agg} FROM orders o WHERE o.contact_id = c.id AND ${purchases}), 0)`, c);
    }
    case 'first_order':
    case 'last_order': {
      cx.usesMetrics = true;
      const column = c.type === 'first_order' ? sql`m.first_order_at` : sql`m.last_order_at`;
      return sql`(${column} IS NOT NULL${timeIn(cx, column, c.date)})`;
    }
    case 'bought': {
      const product = c.productId !== undefined ? sql`oi.product_id = ${c.productId}` : c.sku !== undefined ? sql`oi.sku = ${c.sku}` : categoryMatch(cx.dialect, c.category!);
      const from = sql`orders o JOIN order_items oi ON oi.order_id = o.id${c.category !== undefined ? sql` JOIN products p ON p.id = oi.product_id` : sql``}`;
      return hasRow(from, 'o', sql`o.status IN (${PURCHASES}) AND ${product}${timeIn(cx, sql`o.ordered_at`, c.window)}`);
    }
    case 'cart':
      return inRows(sql`carts ct`, 'ct', cartWhere(cx, c));
    case 'event':
      return compileEvent(cx, c);
    case 'email':
      return compileEmail(cx, c);
    case 'rfm_group':
      cx.usesMetrics = true;
      return sql`(m.rfm_segment IS NOT NULL AND m.rfm_segment IN (${sql.join(c.groups.map((g) => sql`${g}`))}))`;
    case 'rfm_score': {
      cx.usesMetrics = true;
      const column = { recency: sql`m.rfm_recency`, frequency: sql`m.rfm_frequency`, monetary: sql`m.rfm_monetary` }[c.score];
      return sql`(${column} IS NOT NULL AND ${numberTest(cx, column, c)})`;
    }
    case 'segment':
      return hasRow(sql`segment_members sm JOIN segments sg ON sg.id = sm.segment_id`, 'sm', sql`sg.key = ${c.segment}`);
    default:
      return assertNever(c, 'segment condition');
  }
}

/** The condition on one cart (alias `ct`) of a cart condition. */
function cartWhere(cx: Compile, c: CartCondition): Bool {
  const status = c.status ?? 'abandoned';
  const at = status === 'abandoned' ? sql`ct.abandoned_at` : sql`ct.source_updated_at`;
  const value = c.value ? sql` AND ${numberTest(cx, sql`ct.value`, c.value)}` : sql``;
  return sql<boolean>`ct.status = ${status}${value}${timeIn(cx, at, c.at)}`;
}

/** The cart condition when it is the whole tree (possibly inside one-member all/any groups). */
function soleCartCondition(node: SegmentNode): CartCondition | undefined {
  if ('all' in node) return node.all.length === 1 ? soleCartCondition(node.all[0]!) : undefined;
  if ('any' in node) return node.any.length === 1 ? soleCartCondition(node.any[0]!) : undefined;
  if ('not' in node) return undefined;
  return node.type === 'cart' ? node : undefined;
}

/**
 * Whether the tree reads only contact_metrics (`m`), and no contact without a metrics row can match
 * it: no `not`, no windowed aggregate (those read orders), no test that 0 passes.
 */
function metricsOnly(node: SegmentNode): boolean {
  if ('all' in node) return node.all.every(metricsOnly);
  if ('any' in node) return node.any.every(metricsOnly);
  if ('not' in node) return false;
  switch (node.type) {
    case 'order_count':
    case 'total_spent':
    case 'average_order_value':
      return !node.window && !passes(node, 0);
    case 'first_order':
    case 'last_order':
    case 'rfm_group':
    case 'rfm_score':
      return true;
    default:
      return false;
  }
}

/**
 * `c.id IN (the contacts of the matching rows)`: for a table far smaller than contacts (carts),
 * both planners read the matching rows once (SQLite into a temporary index, PostgreSQL into a hash)
 * instead of probing the table once per contact, which made the abandoned-cart preset 2–3.4× its
 * hand-written query (bench:segments). Never NULL (NULL contact ids are left out), so `not` stays exact.
 */
function inRows(from: RawBuilder<unknown>, alias: string, where: RawBuilder<unknown>): Bool {
  const a = sql.raw(alias);
  return sql`c.id IN (SELECT ${a}.contact_id FROM ${from} WHERE ${a}.contact_id IS NOT NULL AND ${where})`;
}

/**
 * "The contact has a row in `from` (alias `alias`) matching `where`": a correlated EXISTS, probed
 * through the table's contact index (PostgreSQL plans it as a semi-join). An uncorrelated
 * `c.id IN (SELECT …)` was measured too (bench:segments): on SQLite it built whole sets (every
 * subscriber, every recent viewer) that the other conditions then mostly discarded, and was slower
 * on the 6-condition segment and on incremental refreshes; PostgreSQL's NOT IN over a large
 * subquery can even fall back to a per-row loop.
 */
function hasRow(from: RawBuilder<unknown>, alias: string, where: RawBuilder<unknown>): Bool {
  const a = sql.raw(alias);
  return sql`EXISTS (SELECT 1 FROM ${from} WHERE ${a}.contact_id = c.id AND ${where})`;
}

/** Whether `x` passes a number test (decides how an aggregate with no rows, i.e. 0, is treated). */
function passes(t: NumberTest, x: number): boolean {
  switch (t.op) {
    case 'equals':
      return x === t.value;
    case 'not_equals':
      return x !== t.value;
    case 'gt':
      return x > t.value;
    case 'gte':
      return x >= t.value;
    case 'lt':
      return x < t.value;
    case 'lte':
      return x <= t.value;
    case 'between':
      return x >= t.value[0] && x <= t.value[1];
    default:
      return assertNever(t, 'number test');
  }
}

/** ` AND col >= from AND col < to` for a window, or nothing. */
function timeIn(cx: Compile, column: RawBuilder<unknown>, range: DateRange | undefined): RawBuilder<unknown> {
  if (!range) return sql``;
  const r = resolveDateRange(range, cx.now);
  const parts: RawBuilder<unknown>[] = [];
  if (r.from !== undefined) parts.push(sql` AND ${column} >= ${r.from}`);
  if (r.to !== undefined) parts.push(sql` AND ${column} < ${r.to}`);
  return sql.join(parts, sql``);
}

/**
 * A bound number. PostgreSQL infers a parameter's type from the column beside it: an integer
 * column would refuse 2.5 (or 3e9), so those are cast to double precision. A whole number in int4
 * range is left to the column's type: casting it too made PostgreSQL convert every row's value
 * (the one-time-buyers preset read 2.5x its hand-written query in bench:segments).
 */
function num(cx: Compile, v: number): RawBuilder<unknown> {
  return cx.dialect === 'postgres' && !(Number.isInteger(v) && Math.abs(v) <= 2_147_483_647) ? sql`CAST(${v} AS double precision)` : sql`${v}`;
}

function numberTest(cx: Compile, x: RawBuilder<unknown>, t: NumberTest): Bool {
  const n = (v: number) => num(cx, v);
  switch (t.op) {
    case 'equals':
      return sql`${x} = ${n(t.value)}`;
    case 'not_equals':
      return sql`${x} <> ${n(t.value)}`;
    case 'gt':
      return sql`${x} > ${n(t.value)}`;
    case 'gte':
      return sql`${x} >= ${n(t.value)}`;
    case 'lt':
      return sql`${x} < ${n(t.value)}`;
    case 'lte':
      return sql`${x} <= ${n(t.value)}`;
    case 'between':
      return sql`${x} BETWEEN ${n(t.value[0])} AND ${n(t.value[1])}`;
    default:
      return assertNever(t, 'number test');
  }
}

function categoryMatch(dialect: DialectName, category: string): Bool {
  return dialect === 'postgres'
    ? sql`p.categories @> jsonb_build_array(${category}::text)`
    : sql`EXISTS (SELECT 1 FROM json_each(p.categories) WHERE json_each.value = ${category})`;
}

/** A top-level JSON member as comparable text (`true`, `42`, `gold`), or NULL. `column` is a constant of this file. */
function jsonText(dialect: DialectName, column: string, name: string): RawBuilder<string | null> {
  if (dialect === 'postgres') return sql`(${sql.raw(column)} ->> ${name})`;
  const path = `$."${name}"`;
  return sql`(CASE json_type(${sql.raw(column)}, ${path}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(${sql.raw(column)}, ${path}) AS TEXT) END)`;
}

/** A top-level JSON member as a number when it is a JSON number, else NULL (never a cast error on text). */
function jsonNumber(dialect: DialectName, column: string, name: string): RawBuilder<number | null> {
  if (dialect === 'postgres') return sql`(CASE WHEN jsonb_typeof(${sql.raw(column)} -> ${name}) = 'number' THEN (${sql.raw(column)} ->> ${name})::double precision END)`;
  const path = `$."${name}"`;
  return sql`(CASE WHEN json_type(${sql.raw(column)}, ${path}) IN ('integer', 'real') THEN json_extract(${sql.raw(column)}, ${path}) END)`;
}

const PROFILE_COLUMNS: Record<string, string> = { email: 'c.email', emailDomain: 'c.email_domain', firstName: 'c.first_name', lastName: 'c.last_name', locale: 'c.locale', timezone: 'c.timezone', currency: 'c.currency', phone: 'c.phone' };

function compileAttribute(cx: Compile, c: AttributeCondition): Bool {
  if (c.field === 'createdAt') return c.op === 'exists' ? sql`(1 = 1)` : sql`(c.created_at IS NOT NULL${timeIn(cx, sql`c.created_at`, c.value as DateRange)})`;
  if (c.field.startsWith('attributes.')) {
    const name = c.field.slice('attributes.'.length);
    return valueTest(cx, jsonText(cx.dialect, 'c.attributes', name), jsonNumber(cx.dialect, 'c.attributes', name), c);
  }
  // Profile fields are text: a number in the definition is compared as its text.
  const column = sql.raw(PROFILE_COLUMNS[c.field]!);
  const asText = (v: unknown) => (typeof v === 'number' ? String(v) : v);
  const value = Array.isArray(c.value) ? c.value.map(asText) : asText(c.value);
  return valueTest(cx, column, FALSE, { op: c.op, value: value as ValueTest['value'] });
}

/** Dates stored as attributes are compared as ISO text: `2026-11-27T10:00:00.000Z` sorts like time when written in UTC. */
const iso = (t: number) => new Date(t).toISOString();

const bindable = (v: Scalar) => (typeof v === 'boolean' ? String(v) : v);

function valueTest(cx: Compile, text: RawBuilder<unknown>, numeric: RawBuilder<unknown>, t: ValueTest): Bool {
  const v = t.value;
  const isTrue = (x: RawBuilder<unknown>) => (cx.strict ? sql<boolean>`((${x}) IS TRUE)` : sql<boolean>`(${x})`);
  switch (t.op) {
    case 'exists':
      return sql`(${text} IS NOT NULL)`;
    case 'equals':
      return typeof v === 'number' ? isTrue(sql`${numeric} = ${v}`) : isTrue(sql`${text} = ${bindable(v as Scalar)}`);
    case 'not_equals':
      return typeof v === 'number' ? sql`((${numeric} = ${v}) IS NOT TRUE)` : sql`((${text} = ${bindable(v as Scalar)}) IS NOT TRUE)`;
    case 'contains':
      return isTrue(sql`lower(${text}) LIKE ${`%${escapeLike(String(v).toLowerCase())}%`} ESCAPE '\\'`);
    case 'starts_with':
      return isTrue(sql`lower(${text}) LIKE ${`${escapeLike(String(v).toLowerCase())}%`} ESCAPE '\\'`);
    case 'in': {
      const values = v as Scalar[];
      const texts = values.filter((x) => typeof x !== 'number').map((x) => sql`${bindable(x)}`);
      const nums = values.filter((x): x is number => typeof x === 'number').map((x) => sql`${x}`);
      const parts: Bool[] = [];
      if (texts.length) parts.push(isTrue(sql`${text} IN (${sql.join(texts)})`));
      if (nums.length) parts.push(isTrue(sql`${numeric} IN (${sql.join(nums)})`));
      return sql`(${sql.join(parts, sql` OR `)})`;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'between':
      return isTrue(numberTest(cx, numeric, { op: t.op, value: v } as NumberTest));
    case 'date': {
      const r = resolveDateRange(v as DateRange, cx.now);
      const parts: RawBuilder<unknown>[] = [sql`${text} IS NOT NULL`];
      if (r.from !== undefined) parts.push(sql`${text} >= ${iso(r.from)}`);
      if (r.to !== undefined) parts.push(sql`${text} < ${iso(r.to)}`);
      return isTrue(sql.join(parts, sql` AND `));
    }
    default:
      return assertNever(t.op, 'value operator');
  }
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

function propertyTest(cx: Compile, f: PropertyFilter): Bool {
  return valueTest(cx, jsonText(cx.dialect, 'e.properties', f.name), jsonNumber(cx.dialect, 'e.properties', f.name), f);
}

function compileEvent(cx: Compile, c: EventCondition): Bool {
  const filters = sql`e.type = ${c.event}${timeIn(cx, sql`e.occurred_at`, c.window)}${sql.join((c.properties ?? []).map((f) => sql` AND ${propertyTest(cx, f)}`), sql``)}`;
  const atLeast = c.atLeast ?? 1;
  const did = atLeast === 1 ? hasRow(sql`events e`, 'e', filters) : sql<boolean>`((SELECT COUNT(*) FROM events e WHERE e.contact_id = c.id AND ${filters}) >= ${atLeast})`;
  return c.did === false ? sql`(NOT ${did})` : did;
}

function compileEmail(cx: Compile, c: EmailCondition): Bool {
  let did: Bool;
  if (c.action === 'opened' || c.action === 'clicked' || c.action === 'complained') {
    // Tracking and feedback store these as email_opened, email_clicked, email_complained.
    const human = c.includeMachine || c.action === 'complained' ? sql`` : sql` AND e.machine IS NULL`;
    const campaign = c.campaignId === undefined ? sql`` : sql` AND e.message_ref IN (SELECT mg.ref FROM messages mg WHERE mg.campaign_id = ${c.campaignId})`;
    did = hasRow(sql`events e`, 'e', sql`e.type = ${`email_${c.action}`}${human}${timeIn(cx, sql`e.occurred_at`, c.window)}${campaign}`);
  } else {
    // Receipt and bounces are message outcomes: a bounce found at send time leaves no event.
    const status = c.action === 'received' ? sql`mg.status IN (${RECEIVED})` : sql`mg.status = 'bounced'`;
    const at = c.action === 'received' ? sql`mg.sent_at` : sql`mg.updated_at`;
    const campaign = c.campaignId === undefined ? sql`` : sql` AND mg.campaign_id = ${c.campaignId}`;
    did = hasRow(sql`messages mg`, 'mg', sql`${status}${campaign}${timeIn(cx, at, c.window)}`);
  }
  return c.did === false ? sql`(NOT ${did})` : did;
}

/** Reads the first `limit` matching contacts (by id) with their profile, for a preview. */
export async function selectSegmentSample(db: Db, node: SegmentNode, now: number, limit: number) {
  const { where, usesMetrics } = compileSegmentWhere(db.dialect, node, now);
  let q = db.k.selectFrom('contacts as c').select(['c.id', 'c.email', 'c.firstName', 'c.lastName', 'c.locale', 'c.attributes', 'c.createdAt']).where(where).orderBy('c.id').limit(limit);
  if (usesMetrics) q = q.leftJoin('contactMetrics as m', 'm.contactId', 'c.id');
  return q.execute();
}
