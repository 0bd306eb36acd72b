import type { Template, TemplateVariantInput } from '../../domain/templates.ts';
import type { Db } from '../database.ts';
import { fromJsonColumn, toJsonColumn } from '../dialect.ts';

/** A variant row as stored, with its compile output and version. */
export interface StoredVariant extends TemplateVariantInput {
  id: number;
  templateId: number;
  locale: string;
  compiledHtml: string;
  version: number;
}

/** A template row with its topic key and variants. */
export interface StoredTemplate extends Omit<Template, 'variants'> {
  variants: StoredVariant[];
}

/** Reads one template (by key) with its topic key and all variants. */
export async function selectTemplate(db: Db, key: string): Promise<StoredTemplate | undefined> {
  const t = await db.k
    .selectFrom('templates as t')
    .leftJoin('topics as p', 'p.id', 't.topicId')
    .select(['t.id', 't.key', 't.name', 't.kind', 'p.key as topic', 't.defaultLocale', 't.trackOpens', 't.trackClicks', 't.utm', 't.version', 't.createdAt', 't.updatedAt'])
    .where('t.key', '=', key)
    .executeTakeFirst();
  if (!t) return undefined;
  const variants = await db.k.selectFrom('templateVariants').selectAll().where('templateId', '=', t.id).orderBy('locale').execute();
  return {
    ...t,
    kind: t.kind as Template['kind'],
    topic: t.topic ?? null,
    trackOpens: Boolean(t.trackOpens),
    trackClicks: Boolean(t.trackClicks),
    utm: t.utm === null ? null : fromJsonColumn(t.utm),
    variants: variants.map((v) => ({ ...v, bodyType: v.bodyType as 'mjml' | 'html' })),
  };
}

/** Lists templates (without bodies), by key. */
export async function selectTemplateSummaries(db: Db): Promise<{ key: string; name: string; kind: string; topic: string | null; version: number; locales: string; updatedAt: number }[]> {
  const rows = await db.k
    .selectFrom('templates as t')
    .leftJoin('topics as p', 'p.id', 't.topicId')
    .select(['t.id', 't.key', 't.name', 't.kind', 'p.key as topic', 't.version', 't.updatedAt'])
    .orderBy('t.key')
    .execute();
  const variants = await db.k.selectFrom('templateVariants').select(['templateId', 'locale']).orderBy('locale').execute();
  return rows.map((r) => ({ ...r, topic: r.topic ?? null, locales: variants.filter((v) => v.templateId === r.id).map((v) => v.locale).join(',') }));
}

export interface TemplateWrite {
  key: string;
  name: string;
  kind: string;
  topicId: number | null;
  defaultLocale: string;
  trackOpens: boolean;
  trackClicks: boolean;
  utm: unknown;
  variants: (TemplateVariantInput & { locale: string; compiledHtml: string })[];
}

/**
 * Creates a template or replaces it (by key) with a new version: the template row's version is
 * incremented and its variants are replaced. Returns the new version. Call in a transaction.
 */
export async function saveTemplate(db: Db, t: TemplateWrite, now: number): Promise<number> {
  const existing = await db.k.selectFrom('templates').select(['id', 'version']).where('key', '=', t.key).executeTakeFirst();
  const row = { name: t.name, kind: t.kind, topicId: t.topicId, defaultLocale: t.defaultLocale, trackOpens: t.trackOpens ? 1 : 0, trackClicks: t.trackClicks ? 1 : 0, utm: t.utm === null ? null : toJsonColumn(t.utm), updatedAt: now };
  let id: number;
  let version: number;
  if (existing) {
    id = existing.id;
    version = existing.version + 1;
    await db.k.updateTable('templates').set({ ...row, version }).where('id', '=', id).execute();
    await db.k.deleteFrom('templateVariants').where('templateId', '=', id).execute();
  } else {
    version = 1;
    id = (await db.k.insertInto('templates').values({ ...row, key: t.key, version, createdAt: now }).returning('id').executeTakeFirstOrThrow()).id;
  }
  await db.k
    .insertInto('templateVariants')
    .values(t.variants.map((v) => ({ ...v, templateId: id, version, updatedAt: now })))
    .execute();
  return version;
}

/** Deletes a template and its variants. */
export async function deleteTemplate(db: Db, key: string): Promise<boolean> {
  const r = await db.k.deleteFrom('templates').where('key', '=', key).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
