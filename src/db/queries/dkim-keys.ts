import type { DkimKeyStatus } from '../../domain/dkim-keys.ts';
import type { DkimAlgorithm } from '../../mta/dkim.ts';
import type { Db } from '../database.ts';

/** A key row without its sealed private half: what lists and the API read. */
export interface DkimKeyRow {
  id: number;
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  publicDnsValue: string;
  status: DkimKeyStatus;
  createdAt: number;
  retiredAt: number | null;
}

/** An active key with its sealed private half: what the signer reads, and nothing else does. */
export interface SealedDkimKeyRow {
  id: number;
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKeySealed: string;
}

const PUBLIC_COLUMNS = ['id', 'domain', 'selector', 'algorithm', 'publicDnsValue', 'status', 'createdAt', 'retiredAt'] as const;

/** Inserts an active key; throws the driver's unique violation if (domain, selector) is taken. */
export async function insertDkimKey(
  db: Db,
  k: { domain: string; selector: string; algorithm: DkimAlgorithm; privateKeySealed: string; publicDnsValue: string },
  now: number,
): Promise<DkimKeyRow> {
  return (await db.k
    .insertInto('dkimKeys')
    .values({ ...k, status: 'active', createdAt: now, retiredAt: null })
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirstOrThrow()) as DkimKeyRow;
}

/** Reads every key, active first, then by domain and selector (never the private halves). */
export async function selectDkimKeys(db: Db): Promise<DkimKeyRow[]> {
  return (await db.k.selectFrom('dkimKeys').select(PUBLIC_COLUMNS).orderBy('status').orderBy('domain').orderBy('selector').execute()) as DkimKeyRow[];
}

/** Reads one key by id (never the private half). */
export async function selectDkimKey(db: Db, id: number): Promise<DkimKeyRow | undefined> {
  return (await db.k.selectFrom('dkimKeys').select(PUBLIC_COLUMNS).where('id', '=', id).executeTakeFirst()) as DkimKeyRow | undefined;
}

/** Reads the key holding a (domain, selector) pair, retired or not. */
export async function selectDkimKeyBySelector(db: Db, domain: string, selector: string): Promise<DkimKeyRow | undefined> {
  return (await db.k.selectFrom('dkimKeys').select(PUBLIC_COLUMNS).where('domain', '=', domain).where('selector', '=', selector).executeTakeFirst()) as
    | DkimKeyRow
    | undefined;
}

/** Reads every active key with its sealed private half, for the signer. */
export async function selectActiveSealedDkimKeys(db: Db): Promise<SealedDkimKeyRow[]> {
  return (await db.k
    .selectFrom('dkimKeys')
    .select(['id', 'domain', 'selector', 'algorithm', 'privateKeySealed'])
    .where('status', '=', 'active')
    .orderBy('id')
    .execute()) as SealedDkimKeyRow[];
}

/** Marks an active key retired (it stops signing). Returns false if it does not exist or is already retired. */
export async function markDkimKeyRetired(db: Db, id: number, now: number): Promise<boolean> {
  const r = await db.k.updateTable('dkimKeys').set({ status: 'retired', retiredAt: now }).where('id', '=', id).where('status', '=', 'active').executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Deletes a key, private half included. Returns false if it does not exist. */
export async function deleteDkimKey(db: Db, id: number): Promise<boolean> {
  const r = await db.k.deleteFrom('dkimKeys').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
