import { sql, type RawBuilder } from 'kysely';

// Every difference between SQLite and PostgreSQL that the queries need lives in this file.

export type DialectName = 'sqlite' | 'postgres';

/** Serialises a JSON column value for either dialect (JSONB accepts text parameters). */
export function toJsonColumn(value: unknown): string {
  return JSON.stringify(value ?? {});
}

/** Reads a JSON column: SQLite returns text, the pg driver returns parsed JSONB. */
export function fromJsonColumn<T = Record<string, unknown>>(value: unknown): T {
  if (typeof value === 'string') return JSON.parse(value) as T;
  return (value ?? {}) as T;
}

/** The text form of one top-level attribute, comparable across dialects (`true`, `42`, `gold`). */
export function attributeText(dialect: DialectName, name: string): RawBuilder<string | null> {
  if (dialect === 'postgres') return sql<string | null>`(attributes ->> ${name})`;
  const path = `$."${name}"`;
  return sql<string | null>`(CASE json_type(attributes, ${path}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(attributes, ${path}) AS TEXT) END)`;
}

/** SQL that merges new attributes into old (RFC 7396 merge-patch: a null value removes the key). */
export function mergeAttributesSql(dialect: DialectName, current: string, incoming: string): string {
  return dialect === 'postgres'
    ? `jsonb_strip_nulls(${current} || ${incoming})`
    : `json_patch(${current}, ${incoming})`;
}

/** True when a driver error is a unique-constraint violation. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string } | null;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Escapes LIKE wildcards so a user's prefix matches literally (used with ESCAPE '\'). */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
