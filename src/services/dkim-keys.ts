import { isUniqueViolation } from '../db/dialect.ts';
import type { Db } from '../db/database.ts';
import {
  deleteDkimKey,
  insertDkimKey,
  markDkimKeyRetired,
  selectDkimKey,
  selectDkimKeyBySelector,
  selectDkimKeys,
  type DkimKeyRow,
} from '../db/queries/dkim-keys.ts';
import { checkSelector, checkSigningDomain, dkimRecordName, type DkimKeyInfo } from '../domain/dkim-keys.ts';
import type { Clock } from '../lib/clock.ts';
import { AppError, invalid } from '../lib/errors.ts';
import { seal } from '../lib/sealed.ts';
import type { Keyring } from '../lib/secrets.ts';
import { dkimDnsValue, generateDkimKey, parseDkimKey, type DkimAlgorithm, type DkimKey } from '../mta/dkim.ts';

// DKIM keys: made here or imported, stored sealed (purpose `dkim-key`), listed by where their
// public half must be published. The private half leaves this file only sealed, and is opened
// again only by the signer (dkim-signer.ts).

/** The sealing purpose of DKIM private keys: a sealed key cannot be opened as any other secret. */
export const DKIM_SEAL_PURPOSE = 'dkim-key';

type Deps = { db: Db; clock: Clock; keyring: Keyring };

/** Makes a new key pair (RSA-2048 by default, or Ed25519) for a domain; it signs from now on. */
export async function createDkimKey(deps: Deps, input: { domain: string; selector: string; algorithm?: DkimAlgorithm }): Promise<DkimKeyInfo> {
  const { domain, selector } = await checkName(deps.db, input);
  const { privateKeyPem } = await generateDkimKey(input.algorithm ?? 'rsa-sha256');
  return store(deps, parseDkimKey(privateKeyPem, domain, selector));
}

/**
 * Imports an existing PEM private key (e.g. from OpenDKIM's `<selector>.private`). RSA keys of
 * 1024 to 2047 bits are accepted, since receivers do and many domains publish them, with a
 * warning to rotate; below 1024 or above 4096 bits, or any other key type, is refused.
 */
export async function importDkimKey(deps: Deps, input: { domain: string; selector: string; privateKey: string }): Promise<{ key: DkimKeyInfo; warnings: string[] }> {
  const { domain, selector } = await checkName(deps.db, input);
  let parsed: DkimKey;
  try {
    parsed = parseDkimKey(input.privateKey, domain, selector);
  } catch (err) {
    throw invalid('privateKey', (err as Error).message);
  }
  const warnings: string[] = [];
  const bits = parsed.privateKey.asymmetricKeyDetails?.modulusLength;
  if (parsed.algorithm === 'rsa-sha256' && bits !== undefined && bits < 2048) {
    warnings.push(`the RSA key has ${bits} bits: receivers accept it, but 2048 is recommended (RFC 8301); generate a 2048-bit key under a new selector and retire this one`);
  }
  return { key: await store(deps, parsed), warnings };
}

/** Lists every key, retired ones included, with the DNS record to publish; never a private key. */
export async function listDkimKeys(deps: { db: Db }): Promise<DkimKeyInfo[]> {
  return (await selectDkimKeys(deps.db)).map(toInfo);
}

/** Reads one key, or fails with not_found. */
export async function getDkimKey(deps: { db: Db }, id: number): Promise<DkimKeyInfo> {
  const row = await selectDkimKey(deps.db, id);
  if (!row) throw new AppError('not_found', `DKIM key ${id} does not exist`, [{ field: 'id', message: 'no such key' }]);
  return toInfo(row);
}

/**
 * Stops signing with a key. Its DNS record should stay published for a few days more, so that
 * mail already signed with it still verifies where it is read late.
 */
export async function retireDkimKey(deps: { db: Db; clock: Clock }, id: number): Promise<DkimKeyInfo> {
  if (!(await markDkimKeyRetired(deps.db, id, deps.clock.now()))) {
    const row = await selectDkimKey(deps.db, id);
    if (!row) throw new AppError('not_found', `DKIM key ${id} does not exist`, [{ field: 'id', message: 'no such key' }]);
    throw new AppError('conflict', `DKIM key ${id} is already retired`, [{ field: 'id', message: 'already retired' }]);
  }
  return getDkimKey(deps, id);
}

/** Deletes a key and its private half for good; the selector can be used again (once DNS caches have let go of the old record). */
export async function removeDkimKey(deps: { db: Db }, id: number): Promise<void> {
  if (!(await deleteDkimKey(deps.db, id))) throw new AppError('not_found', `DKIM key ${id} does not exist`, [{ field: 'id', message: 'no such key' }]);
}

// Validates the domain and selector and refuses a pair already in use, retired or not: receivers
// cache DNS, so a selector should not come back with another key.
async function checkName(db: Db, input: { domain: string; selector: string }): Promise<{ domain: string; selector: string }> {
  const d = checkSigningDomain(input.domain);
  if (!d.ok) throw invalid('domain', d.reason);
  const s = checkSelector(input.selector);
  if (!s.ok) throw invalid('selector', s.reason);
  const existing = await selectDkimKeyBySelector(db, d.domain, s.selector);
  if (existing) throw selectorTaken(d.domain, s.selector, existing.id, existing.status);
  return { domain: d.domain, selector: s.selector };
}

async function store(deps: Deps, key: DkimKey): Promise<DkimKeyInfo> {
  // Stored as PKCS#8 whatever form it came in: one format to open, nothing of the input kept.
  const pem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  try {
    const row = await insertDkimKey(
      deps.db,
      { domain: key.domain, selector: key.selector, algorithm: key.algorithm, privateKeySealed: seal(deps.keyring, DKIM_SEAL_PURPOSE, pem), publicDnsValue: dkimDnsValue(key) },
      deps.clock.now(),
    );
    return toInfo(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw selectorTaken(key.domain, key.selector);
    throw err;
  }
}

function selectorTaken(domain: string, selector: string, id?: number, status?: string): AppError {
  const which = id === undefined ? 'another key' : `key ${id} (${status})`;
  return new AppError('conflict', `selector "${selector}" of ${domain} is already used by ${which}; choose a new selector (receivers cache the old key's DNS record, so a selector should not return with another key)`, [
    { field: 'selector', message: 'already used for this domain' },
  ]);
}

function toInfo(row: DkimKeyRow): DkimKeyInfo {
  return {
    id: row.id,
    domain: row.domain,
    selector: row.selector,
    algorithm: row.algorithm,
    status: row.status,
    dnsName: dkimRecordName(row.selector, row.domain),
    dnsValue: row.publicDnsValue,
    createdAt: row.createdAt,
    retiredAt: row.retiredAt,
  };
}
