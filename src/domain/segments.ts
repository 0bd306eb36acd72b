import { ATTRIBUTE_NAME } from './contacts.ts';
import { SUBSCRIPTION_STATUSES } from './consent.ts';
import { RFM_GROUPS, type RfmGroup } from './rfm.ts';
import { checkDateRange, isRelativeRange, type DateRange } from './segment-dates.ts';

// A segment is a JSON tree of `all` / `any` / `not` over conditions. The definition is data: it is
// checked here (every problem reported with its JSON path), stored as a version, and compiled to
// SQL by db/queries/segment-sql.ts, where every value becomes a bound parameter.

/** How deep `all` / `any` / `not` may nest (the root is depth 1). */
export const MAX_SEGMENT_DEPTH = 8;
/** How many conditions one segment may hold. */
export const MAX_SEGMENT_CONDITIONS = 100;
/** How many values an `in` list may hold. */
export const MAX_IN_VALUES = 100;
const MAX_TEXT = 500;

export type SegmentNode = { all: SegmentNode[] } | { any: SegmentNode[] } | { not: SegmentNode } | SegmentCondition;

export type Scalar = string | number | boolean;
/** Numeric comparisons shared by every measure. */
export const NUMBER_OPS = ['equals', 'not_equals', 'gt', 'gte', 'lt', 'lte', 'between'] as const;
export type NumberOp = (typeof NUMBER_OPS)[number];
export type NumberTest = { op: Exclude<NumberOp, 'between'>; value: number } | { op: 'between'; value: [number, number] };

/** Operators on a contact attribute or an event property (`date` only for attributes). */
export const VALUE_OPS = ['equals', 'not_equals', 'contains', 'starts_with', 'in', 'exists', 'gt', 'gte', 'lt', 'lte', 'between', 'date'] as const;
export type ValueOp = (typeof VALUE_OPS)[number];
export interface ValueTest {
  op: ValueOp;
  value?: Scalar | Scalar[] | [number, number] | DateRange;
}

/** Contact fields a segment may name besides `attributes.<name>`. */
export const PROFILE_FIELDS = { email: 'text', emailDomain: 'text', firstName: 'text', lastName: 'text', locale: 'text', timezone: 'text', currency: 'text', phone: 'text', createdAt: 'time' } as const;
const TEXT_OPS: readonly ValueOp[] = ['equals', 'not_equals', 'contains', 'starts_with', 'in', 'exists'];

export interface AttributeCondition extends ValueTest {
  type: 'attribute';
  /** A profile field (`firstName`, `createdAt`…) or `attributes.<name>`. */
  field: string;
}
export interface TopicCondition {
  type: 'topic';
  topic: string;
  /** `none`: no subscription row at all for the topic. */
  status: (typeof SUBSCRIPTION_STATUSES)[number] | 'none';
}
/** Order aggregates: all time (from contact_metrics) or over a window (from orders). */
export type OrderMeasureCondition = { type: 'order_count' | 'total_spent' | 'average_order_value'; window?: DateRange } & NumberTest;
export interface OrderDateCondition {
  type: 'first_order' | 'last_order';
  date: DateRange;
}
export interface BoughtCondition {
  type: 'bought';
  /** Exactly one of these names what was bought. */
  productId?: number;
  sku?: string;
  category?: string;
  window?: DateRange;
}
export interface CartCondition {
  type: 'cart';
  /** Default `abandoned`. */
  status?: 'open' | 'abandoned' | 'converted';
  value?: NumberTest;
  /** When the cart was abandoned (abandoned carts) or last changed (others). */
  at?: DateRange;
}
export interface PropertyFilter extends ValueTest {
  name: string;
}
export interface EventCondition {
  type: 'event';
  event: string;
  /** false: the contact did not do it (in the window, with these properties). Default true. */
  did?: boolean;
  /** At least this many times (default 1). */
  atLeast?: number;
  window?: DateRange;
  properties?: PropertyFilter[];
}
export const EMAIL_ACTIONS = ['received', 'opened', 'clicked', 'bounced', 'complained'] as const;
export interface EmailCondition {
  type: 'email';
  action: (typeof EMAIL_ACTIONS)[number];
  did?: boolean;
  /** One campaign; otherwise any email. */
  campaignId?: number;
  window?: DateRange;
  /** Count opens and clicks that a machine (Apple MPP, a link scanner) made. Default false. */
  includeMachine?: boolean;
}
export interface RfmGroupCondition {
  type: 'rfm_group';
  groups: RfmGroup[];
}
export type RfmScoreCondition = { type: 'rfm_score'; score: 'recency' | 'frequency' | 'monetary' } & NumberTest;
export interface SegmentMembershipCondition {
  type: 'segment';
  /** Another saved segment's key (its materialised members). */
  segment: string;
}

export type SegmentCondition =
  | AttributeCondition
  | TopicCondition
  | OrderMeasureCondition
  | OrderDateCondition
  | BoughtCondition
  | CartCondition
  | EventCondition
  | EmailCondition
  | RfmGroupCondition
  | RfmScoreCondition
  | SegmentMembershipCondition;
export type ConditionType = SegmentCondition['type'];

/** Every condition kind, its fields (required ones first) and what it reads; the validator and the API catalogue use it. */
export const CONDITION_CATALOGUE: Record<ConditionType, { fields: readonly string[]; required: readonly string[]; reads: readonly DataSource[]; summary: string }> = {
  attribute: { fields: ['field', 'op', 'value'], required: ['field', 'op'], reads: ['contacts'], summary: 'a profile field or attributes.<name> compared with a value' },
  topic: { fields: ['topic', 'status'], required: ['topic', 'status'], reads: ['subscriptions'], summary: 'subscription status on a topic' },
  order_count: { fields: ['op', 'value', 'window'], required: ['op', 'value'], reads: ['orders', 'contact_metrics'], summary: 'number of purchases, all time or in a window' },
  total_spent: { fields: ['op', 'value', 'window'], required: ['op', 'value'], reads: ['orders', 'contact_metrics'], summary: 'sum of purchases' },
  average_order_value: { fields: ['op', 'value', 'window'], required: ['op', 'value'], reads: ['orders', 'contact_metrics'], summary: 'average purchase' },
  first_order: { fields: ['date'], required: ['date'], reads: ['contact_metrics'], summary: 'first purchase in a window' },
  last_order: { fields: ['date'], required: ['date'], reads: ['contact_metrics'], summary: 'last purchase in a window' },
  bought: { fields: ['productId', 'sku', 'category', 'window'], required: [], reads: ['orders'], summary: 'bought a product or from a category' },
  cart: { fields: ['status', 'value', 'at'], required: [], reads: ['carts'], summary: 'has a cart (default abandoned), by value and age' },
  event: { fields: ['event', 'did', 'atLeast', 'window', 'properties'], required: ['event'], reads: ['events'], summary: 'did (or did not do) an event, N times, in a window, with property filters' },
  email: { fields: ['action', 'did', 'campaignId', 'window', 'includeMachine'], required: ['action'], reads: ['events', 'messages'], summary: 'received, opened, clicked, bounced or complained about a campaign or any email' },
  rfm_group: { fields: ['groups'], required: ['groups'], reads: ['contact_metrics'], summary: 'in one of the named RFM groups' },
  rfm_score: { fields: ['score', 'op', 'value'], required: ['score', 'op', 'value'], reads: ['contact_metrics'], summary: 'an RFM score (1–5) compared with a number' },
  segment: { fields: ['segment'], required: ['segment'], reads: ['segment_members'], summary: "member of another saved segment" },
};

/** Tables whose changes can move a contact in or out of a segment (incremental refresh watches them). */
export type DataSource = 'contacts' | 'subscriptions' | 'orders' | 'contact_metrics' | 'carts' | 'events' | 'messages' | 'segment_members';

/** One problem in a definition: a JSON pointer into it (`/all/2/any/0/value`) and what is wrong. */
export interface SegmentProblem {
  path: string;
  message: string;
}

export type SegmentCheck = { ok: true; definition: SegmentNode; conditions: number } | { ok: false; problems: SegmentProblem[] };

/** Checks a definition completely: every problem is reported with its path, nothing stops at the first. */
export function validateSegmentDefinition(input: unknown): SegmentCheck {
  const problems: SegmentProblem[] = [];
  const state = { conditions: 0, tooMany: false };
  checkNode(input, '', 1, problems, state);
  if (state.conditions > MAX_SEGMENT_CONDITIONS) problems.push({ path: '', message: `holds ${state.conditions} conditions; at most ${MAX_SEGMENT_CONDITIONS} are allowed` });
  return problems.length ? { ok: false, problems } : { ok: true, definition: input as SegmentNode, conditions: state.conditions };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkNode(node: unknown, path: string, depth: number, out: SegmentProblem[], state: { conditions: number }): void {
  if (!isObject(node)) {
    out.push({ path, message: 'must be an object: {"all": [...]}, {"any": [...]}, {"not": {...}} or a condition with a "type"' });
    return;
  }
  const keys = Object.keys(node);
  const group = keys.find((k) => k === 'all' || k === 'any' || k === 'not');
  if (group !== undefined) {
    for (const k of keys) if (k !== group) out.push({ path: `${path}/${k}`, message: `is not allowed beside "${group}"` });
    if (depth >= MAX_SEGMENT_DEPTH) {
      out.push({ path: `${path}/${group}`, message: `nests deeper than ${MAX_SEGMENT_DEPTH} levels` });
      return;
    }
    if (group === 'not') return checkNode(node.not, `${path}/not`, depth + 1, out, state);
    const children = node[group];
    if (!Array.isArray(children) || children.length === 0) {
      out.push({ path: `${path}/${group}`, message: 'must be a non-empty array of conditions' });
      return;
    }
    children.forEach((child, i) => checkNode(child, `${path}/${group}/${i}`, depth + 1, out, state));
    return;
  }
  state.conditions++;
  checkCondition(node, path, out);
}

function checkCondition(c: Record<string, unknown>, path: string, out: SegmentProblem[]): void {
  const type = c.type;
  if (typeof type !== 'string' || !(type in CONDITION_CATALOGUE)) {
    out.push({ path: `${path}/type`, message: `must be one of ${Object.keys(CONDITION_CATALOGUE).join(', ')} (or use all/any/not)` });
    return;
  }
  const spec = CONDITION_CATALOGUE[type as ConditionType];
  for (const k of Object.keys(c)) if (k !== 'type' && !spec.fields.includes(k)) out.push({ path: `${path}/${k}`, message: `is not a known field of a ${type} condition (expected ${spec.fields.join(', ')})` });
  for (const k of spec.required) if (c[k] === undefined) out.push({ path: `${path}/${k}`, message: 'is required' });
  const p = (k: string) => `${path}/${k}`;
  const fail = (k: string, message: string) => out.push({ path: p(k), message });
  const range = (k: string) => {
    if (c[k] !== undefined) out.push(...checkDateRange(c[k], p(k)));
  };
  switch (type as ConditionType) {
    case 'attribute':
      return checkAttribute(c, path, out);
    case 'topic':
      if (c.topic !== undefined && !isKey(c.topic)) fail('topic', 'must be a topic key');
      if (c.status !== undefined && !([...SUBSCRIPTION_STATUSES, 'none'] as unknown[]).includes(c.status)) fail('status', `must be one of ${[...SUBSCRIPTION_STATUSES, 'none'].join(', ')}`);
      return;
    case 'order_count':
    case 'total_spent':
    case 'average_order_value':
    case 'rfm_score':
      if (type === 'rfm_score' && c.score !== undefined && !['recency', 'frequency', 'monetary'].includes(c.score as string)) fail('score', 'must be recency, frequency or monetary');
      checkNumberTest(c, path, out);
      range('window');
      return;
    case 'first_order':
    case 'last_order':
      range('date');
      return;
    case 'bought': {
      const named = ['productId', 'sku', 'category'].filter((k) => c[k] !== undefined);
      if (named.length !== 1) out.push({ path, message: 'needs exactly one of productId, sku, category' });
      if (c.productId !== undefined && !(Number.isSafeInteger(c.productId) && (c.productId as number) > 0)) fail('productId', 'must be a positive integer');
      for (const k of ['sku', 'category']) if (c[k] !== undefined && !isText(c[k])) fail(k, `must be a non-empty string of at most ${MAX_TEXT} characters`);
      range('window');
      return;
    }
    case 'cart':
      if (c.status !== undefined && !['open', 'abandoned', 'converted'].includes(c.status as string)) fail('status', 'must be open, abandoned or converted');
      if (c.value !== undefined) {
        if (isObject(c.value)) checkNumberTest(c.value, p('value'), out, true);
        else fail('value', 'must be a comparison such as {"op": "gt", "value": 5000000}');
      }
      range('at');
      return;
    case 'event':
      if (c.event !== undefined && !isText(c.event, 100)) fail('event', 'must be an event type (a non-empty string of at most 100 characters)');
      if (c.did !== undefined && typeof c.did !== 'boolean') fail('did', 'must be true or false');
      if (c.atLeast !== undefined && !(Number.isSafeInteger(c.atLeast) && (c.atLeast as number) >= 1 && (c.atLeast as number) <= 1_000_000)) fail('atLeast', 'must be an integer from 1 to 1000000');
      range('window');
      if (c.properties !== undefined) {
        if (!Array.isArray(c.properties) || c.properties.length > 20) fail('properties', 'must be an array of at most 20 property filters');
        else c.properties.forEach((f, i) => checkProperty(f, p(`properties/${i}`), out));
      }
      return;
    case 'email':
      if (c.action !== undefined && !(EMAIL_ACTIONS as readonly unknown[]).includes(c.action)) fail('action', `must be one of ${EMAIL_ACTIONS.join(', ')}`);
      if (c.did !== undefined && typeof c.did !== 'boolean') fail('did', 'must be true or false');
      if (c.includeMachine !== undefined && typeof c.includeMachine !== 'boolean') fail('includeMachine', 'must be true or false');
      if (c.campaignId !== undefined && !(Number.isSafeInteger(c.campaignId) && (c.campaignId as number) > 0)) fail('campaignId', 'must be a positive integer');
      range('window');
      return;
    case 'rfm_group':
      if (c.groups === undefined) return;
      if (!Array.isArray(c.groups) || c.groups.length === 0) return void fail('groups', `must be a non-empty array of ${RFM_GROUPS.join(', ')}`);
      c.groups.forEach((g, i) => {
        if (!(RFM_GROUPS as readonly unknown[]).includes(g)) fail(`groups/${i}`, `must be one of ${RFM_GROUPS.join(', ')}`);
      });
      return;
    case 'segment':
      if (c.segment !== undefined && !isKey(c.segment)) fail('segment', 'must be a segment key');
      return;
  }
}

function checkNumberTest(c: Record<string, unknown>, path: string, out: SegmentProblem[], strictKeys = false): void {
  if (strictKeys) for (const k of Object.keys(c)) if (k !== 'op' && k !== 'value') out.push({ path: `${path}/${k}`, message: 'is not a known field (expected op, value)' });
  if (c.op === undefined || c.value === undefined) {
    if (strictKeys) for (const k of ['op', 'value']) if (c[k] === undefined) out.push({ path: `${path}/${k}`, message: 'is required' });
    if (c.op !== undefined && !(NUMBER_OPS as readonly unknown[]).includes(c.op)) out.push({ path: `${path}/op`, message: `must be one of ${NUMBER_OPS.join(', ')}` });
    return;
  }
  if (!(NUMBER_OPS as readonly unknown[]).includes(c.op)) return void out.push({ path: `${path}/op`, message: `must be one of ${NUMBER_OPS.join(', ')}` });
  const problem = numberValueProblem(c.op as NumberOp, c.value);
  if (problem) out.push({ path: `${path}/value`, message: problem });
}

function numberValueProblem(op: NumberOp, value: unknown): string | null {
  if (op === 'between') {
    const ok = Array.isArray(value) && value.length === 2 && value.every(isFiniteNumber) && (value[0] as number) <= (value[1] as number);
    return ok ? null : 'must be [min, max]: two numbers, min not above max';
  }
  return isFiniteNumber(value) ? null : 'must be a number';
}

function checkAttribute(c: Record<string, unknown>, path: string, out: SegmentProblem[]): void {
  const fieldPath = `${path}/field`;
  let kind: 'text' | 'time' | 'any' | null = null;
  if (typeof c.field === 'string' && c.field.startsWith('attributes.')) {
    if (ATTRIBUTE_NAME.test(c.field.slice('attributes.'.length))) kind = 'any';
    else out.push({ path: fieldPath, message: 'attribute names start with a letter or _ and hold only letters, digits and _ (at most 64)' });
  } else if (typeof c.field === 'string' && Object.hasOwn(PROFILE_FIELDS, c.field)) {
    kind = PROFILE_FIELDS[c.field as keyof typeof PROFILE_FIELDS];
  } else if (c.field !== undefined) {
    out.push({ path: fieldPath, message: `is not a known field: use one of ${Object.keys(PROFILE_FIELDS).join(', ')} or attributes.<name>` });
  }
  if (c.op === undefined) return;
  if (!(VALUE_OPS as readonly unknown[]).includes(c.op)) return void out.push({ path: `${path}/op`, message: `must be one of ${VALUE_OPS.join(', ')}` });
  const op = c.op as ValueOp;
  if (kind === 'text' && !TEXT_OPS.includes(op)) return void out.push({ path: `${path}/op`, message: `${String(c.field)} is text: use one of ${TEXT_OPS.join(', ')}` });
  if (kind === 'time' && op !== 'date' && op !== 'exists') return void out.push({ path: `${path}/op`, message: `${String(c.field)} is a time: use date (with a window) or exists` });
  checkValue(op, c.value, `${path}/value`, out);
}

function checkProperty(f: unknown, path: string, out: SegmentProblem[]): void {
  if (!isObject(f)) return void out.push({ path, message: 'must be a property filter {"name", "op", "value"}' });
  for (const k of Object.keys(f)) if (!['name', 'op', 'value'].includes(k)) out.push({ path: `${path}/${k}`, message: 'is not a known field (expected name, op, value)' });
  if (!(typeof f.name === 'string' && ATTRIBUTE_NAME.test(f.name))) out.push({ path: `${path}/name`, message: 'must be a property name (letters, digits and _, at most 64)' });
  if (!(VALUE_OPS as readonly unknown[]).includes(f.op) || f.op === 'date') return void out.push({ path: `${path}/op`, message: `must be one of ${VALUE_OPS.filter((o) => o !== 'date').join(', ')}` });
  checkValue(f.op as ValueOp, f.value, `${path}/value`, out);
}

function checkValue(op: ValueOp, value: unknown, path: string, out: SegmentProblem[]): void {
  const fail = (message: string) => out.push({ path, message });
  switch (op) {
    case 'exists':
      if (value !== undefined) fail('is not used with exists (wrap the condition in "not" for a missing value)');
      return;
    case 'equals':
    case 'not_equals':
      if (!isScalar(value)) fail('must be a string, number or boolean');
      return;
    case 'contains':
    case 'starts_with':
      if (!isText(value)) fail(`must be a non-empty string of at most ${MAX_TEXT} characters`);
      return;
    case 'in':
      if (!Array.isArray(value) || value.length === 0 || value.length > MAX_IN_VALUES) fail(`must be an array of 1 to ${MAX_IN_VALUES} values`);
      else value.forEach((v, i) => !isScalar(v) && out.push({ path: `${path}/${i}`, message: 'must be a string, number or boolean' }));
      return;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'between': {
      const problem = numberValueProblem(op, value);
      if (problem) fail(problem);
      return;
    }
    case 'date':
      out.push(...checkDateRange(value, path));
      return;
  }
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isText = (v: unknown, max = MAX_TEXT): v is string => typeof v === 'string' && v.length > 0 && v.length <= max && !v.includes('\u0000');
const isScalar = (v: unknown): v is Scalar => typeof v === 'boolean' || isFiniteNumber(v) || (typeof v === 'string' && v.length <= MAX_TEXT && !v.includes('\u0000'));
const isKey = (v: unknown): v is string => typeof v === 'string' && /^[a-z0-9][a-z0-9_-]{0,63}$/.test(v);

/** Every condition of a checked tree, in order. */
export function listConditions(node: SegmentNode): SegmentCondition[] {
  if ('all' in node) return node.all.flatMap(listConditions);
  if ('any' in node) return node.any.flatMap(listConditions);
  if ('not' in node) return listConditions(node.not);
  return [node];
}

/** The tables a checked tree reads: a change in any of them can move a contact in or out. */
export function segmentDataSources(node: SegmentNode): Set<DataSource> {
  return new Set(listConditions(node).flatMap((c) => CONDITION_CATALOGUE[c.type].reads));
}

/** True when membership can change by time passing alone (a relative window), so only a full refresh catches it. */
export function segmentUsesRelativeTime(node: SegmentNode): boolean {
  return listConditions(node).some((c) => {
    const ranges = [(c as { window?: DateRange }).window, (c as { date?: DateRange }).date, (c as { at?: DateRange }).at];
    if (c.type === 'attribute' && c.op === 'date') ranges.push(c.value as DateRange);
    return ranges.some((r) => r !== undefined && isRelativeRange(r));
  });
}

/** Keys of the other segments a tree refers to. */
export function referencedSegments(node: SegmentNode): string[] {
  return listConditions(node).flatMap((c) => (c.type === 'segment' ? [c.segment] : []));
}
