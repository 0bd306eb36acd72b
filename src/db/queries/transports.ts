import type { Selectable } from 'kysely';
import type { Db } from '../database.ts';
import { fromJsonColumn, toJsonColumn } from '../dialect.ts';
import type { TransportsTable } from '../tables.ts';

/** A transport row: `secret` is the sealed JSON of its secret settings. */
export interface TransportRow extends Omit<Selectable<TransportsTable>, 'config' | 'warmup' | 'enabled'> {
  config: Record<string, unknown>;
  warmup: unknown;
  enabled: boolean;
}

function fromRow(r: Selectable<TransportsTable>): TransportRow {
  return { ...r, config: fromJsonColumn(r.config), warmup: r.warmup == null ? null : fromJsonColumn(r.warmup), enabled: r.enabled === 1 || (r.enabled as unknown) === true };
}

export async function selectTransports(db: Db): Promise<TransportRow[]> {
  return (await db.k.selectFrom('transports').selectAll().orderBy('name').execute()).map(fromRow);
}

export async function selectTransport(db: Db, name: string): Promise<TransportRow | undefined> {
  const r = await db.k.selectFrom('transports').selectAll().where('name', '=', name).executeTakeFirst();
  return r ? fromRow(r) : undefined;
}

export async function insertTransport(db: Db, t: Omit<TransportRow, 'id'>): Promise<void> {
  await db.k.insertInto('transports').values({ ...t, config: toJsonColumn(t.config), warmup: t.warmup === null ? null : toJsonColumn(t.warmup), enabled: t.enabled ? 1 : 0 }).execute();
}

export async function updateTransport(db: Db, name: string, t: Omit<TransportRow, 'id' | 'createdAt' | 'name'>): Promise<void> {
  await db.k.updateTable('transports').set(toColumns(t)).where('name', '=', name).execute();
}

export async function deleteTransport(db: Db, name: string): Promise<boolean> {
  const r = await db.k.deleteFrom('transports').where('name', '=', name).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

function toColumns<T extends Partial<TransportRow>>(t: T) {
  const { config, warmup, enabled, ...rest } = t;
  return {
    ...rest,
    ...(config !== undefined ? { config: toJsonColumn(config) } : {}),
    ...(warmup !== undefined ? { warmup: warmup === null ? null : toJsonColumn(warmup) } : {}),
    ...(enabled !== undefined ? { enabled: enabled ? 1 : 0 } : {}),
  };
}
