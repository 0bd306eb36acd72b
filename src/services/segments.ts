import { isUniqueViolation } from '../db/dialect.ts';
import { inTransaction } from '../db/database.ts';
import { countSegmentContacts, selectSegmentSample } from '../db/queries/segment-sql.ts';
import { deleteSegment, insertSegment, selectSegmentByKey, selectSegmentKeysReferring, selectSegments, updateSegmentVersion, type SegmentRow } from '../db/queries/segments.ts';
import { selectTopics } from '../db/queries/topics.ts';
import { fromJsonColumn } from '../db/dialect.ts';
import { referencedSegments, validateSegmentDefinition, type SegmentCondition, type SegmentNode } from '../domain/segments.ts';
import { AppError, invalid, type ErrorDetail } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';
import { materialiseSegment, type RefreshOutcome } from './segment-refresh.ts';

/** Segment keys: slugs, like topic keys. */
export const SEGMENT_KEY = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * Checks a definition from a caller: its shape (domain/segments.ts), then the names it uses
 * against the database (topics and other segments exist; a segment does not contain itself).
 * Fails with every problem, each at `definition/<JSON path>`.
 */
export async function checkSegmentDefinition(ctx: ServiceContext, definition: unknown, ownKey?: string): Promise<SegmentNode> {
  const check = validateSegmentDefinition(definition);
  if (!check.ok) throw definitionError(check.problems);
  const problems: { path: string; message: string }[] = [];
  const topics = new Set((await selectTopics(ctx.db)).map((t) => t.key));
  const segments = new Set((await selectSegments(ctx.db)).map((s) => s.key));
  walkConditions(check.definition, '', (c, path) => {
    if (c.type === 'topic' && !topics.has(c.topic)) problems.push({ path: `${path}/topic`, message: `no topic "${c.topic}" exists` });
    if (c.type === 'segment' && c.segment === ownKey) problems.push({ path: `${path}/segment`, message: 'a segment cannot contain itself' });
    else if (c.type === 'segment' && !segments.has(c.segment)) problems.push({ path: `${path}/segment`, message: `no segment "${c.segment}" exists` });
  });
  if (problems.length) throw definitionError(problems);
  return check.definition;
}

function definitionError(problems: { path: string; message: string }[]): AppError {
  const details: ErrorDetail[] = problems.map((p) => ({ field: `definition${p.path}`, message: p.message }));
  return new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
}

function walkConditions(node: SegmentNode, path: string, visit: (c: SegmentCondition, path: string) => void): void {
  if ('all' in node) node.all.forEach((n, i) => walkConditions(n, `${path}/all/${i}`, visit));
  else if ('any' in node) node.any.forEach((n, i) => walkConditions(n, `${path}/any/${i}`, visit));
  else if ('not' in node) walkConditions(node.not, `${path}/not`, visit);
  else visit(node, path);
}

/** Counts a definition's contacts now and returns the first `sampleSize` of them; nothing is stored. */
export async function previewSegment(ctx: ServiceContext, definition: unknown, sampleSize = 10) {
  const node = await checkSegmentDefinition(ctx, definition);
  const now = ctx.clock.now();
  const [count, sample] = await Promise.all([countSegmentContacts(ctx.db, node, now), selectSegmentSample(ctx.db, node, now, sampleSize)]);
  return { count, sample: sample.map((c) => ({ ...c, attributes: fromJsonColumn(c.attributes) })) };
}

/** Lists every saved segment. */
export function listSegments(ctx: ServiceContext): Promise<SegmentRow[]> {
  return selectSegments(ctx.db);
}

/** Reads one saved segment, or fails with not_found. */
export async function getSegment(ctx: ServiceContext, key: string): Promise<SegmentRow> {
  const s = await selectSegmentByKey(ctx.db, key);
  if (!s) throw new AppError('not_found', `segment "${key}" does not exist`);
  return s;
}

/** Saves a new segment (version 1) and materialises its members at once. */
export async function createSegment(ctx: ServiceContext, input: { key: string; name: string; definition: unknown }): Promise<{ segment: SegmentRow; refresh: RefreshOutcome }> {
  if (!SEGMENT_KEY.test(input.key)) throw invalid('key', 'must be lower-case letters, digits, - and _ (at most 64), starting with a letter or digit');
  if (input.name.trim() === '') throw invalid('name', 'must not be empty');
  const definition = await checkSegmentDefinition(ctx, input.definition, input.key);
  let row: SegmentRow;
  try {
    row = await insertSegment(ctx.db, { key: input.key, name: input.name.trim(), definition }, ctx.clock.now());
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('conflict', `segment "${input.key}" already exists`, [{ field: 'key', message: 'already exists' }]);
    throw err;
  }
  const refresh = await materialiseSegment(ctx, row, 'full');
  return { segment: await getSegment(ctx, row.key), refresh };
}

/** Replaces a segment's definition as a new version (old versions are kept) and rematerialises it. */
export async function changeSegment(ctx: ServiceContext, key: string, input: { name?: string; definition: unknown }): Promise<{ segment: SegmentRow; refresh: RefreshOutcome }> {
  if (input.name !== undefined && input.name.trim() === '') throw invalid('name', 'must not be empty');
  const current = await getSegment(ctx, key);
  const definition = await checkSegmentDefinition(ctx, input.definition, key);
  await inTransaction(ctx.db, (tx) => updateSegmentVersion(tx, current.id, { name: input.name?.trim() ?? current.name, version: current.version + 1, definition }, ctx.clock.now()));
  const updated = await getSegment(ctx, key);
  const refresh = await materialiseSegment(ctx, updated, 'full');
  return { segment: await getSegment(ctx, key), refresh };
}

/** Deletes a segment unless another segment refers to it. */
export async function removeSegment(ctx: ServiceContext, key: string): Promise<void> {
  const s = await getSegment(ctx, key);
  const users = (await selectSegmentKeysReferring(ctx.db, key)).filter((k) => k !== key);
  const referring = [];
  for (const k of users) {
    const other = await selectSegmentByKey(ctx.db, k);
    if (other && referencedSegments(other.definition).includes(key)) referring.push(k);
  }
  if (referring.length) throw new AppError('conflict', `segment "${key}" is used by ${referring.join(', ')}; change those first`, [{ field: 'key', message: 'in use' }]);
  await deleteSegment(ctx.db, s.id);
}
