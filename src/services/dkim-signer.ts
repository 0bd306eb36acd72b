import { domainToASCII } from 'node:url';
import type { Db } from '../db/database.ts';
import { selectActiveSealedDkimKeys } from '../db/queries/dkim-keys.ts';
import type { Clock } from '../lib/clock.ts';
import { unseal } from '../lib/sealed.ts';
import type { Keyring } from '../lib/secrets.ts';
import { parseDkimKey, signMessage, signMessageAsync, type DkimKey } from '../mta/dkim.ts';
import type { ServiceContext } from './context.ts';
import { DKIM_SEAL_PURPOSE } from './dkim-keys.ts';

/** What the delivery engine signs with: the active DKIM keys, opened and parsed once. */
export interface DkimSigner {
  /**
   * Signs a complete message with every active key of the From domain, or of its nearest parent
   * domain that has keys (DMARC's relaxed alignment accepts d=shop.example for news.shop.example).
   * Returns the message unchanged when no key applies. RSA signing runs on libuv's thread pool,
   * so an event loop that builds messages itself (no build threads) keeps answering meanwhile.
   */
  sign(raw: Buffer, fromDomain: string): Promise<Buffer>;
  /**
   * Re-reads the active keys after a change (made here or by another process). Only keys not seen
   * before are unsealed and parsed. If a key cannot be opened, throws and keeps the previous keys.
   */
  reload(): Promise<void>;
  /** The active keys, parsed (for build threads, which sign with `signWithKeys`). */
  keys(): DkimKey[];
}

/**
 * A signing function over a fixed set of parsed keys, choosing by From domain as the signer does:
 * what a build thread uses with the keys its parent passed it. It signs on the calling thread: a
 * build thread exists to do this work, and handing RSA to libuv's pool there measured no faster
 * (bench:send, 2026-11-27) while holding more messages in memory.
 */
export function signWithKeys(keys: readonly DkimKey[]): (raw: Buffer, fromDomain: string, now: number) => Buffer {
  const byDomain = new Map<string, DkimKey[]>();
  for (const key of keys) byDomain.set(key.domain, [...(byDomain.get(key.domain) ?? []), key]);
  for (const list of byDomain.values()) list.sort((a, b) => rank(a) - rank(b));
  const forFrom = new Map<string, DkimKey[]>();
  return (raw, fromDomain, now) => {
    let chosen = forFrom.get(fromDomain);
    if (!chosen) {
      chosen = keysForDomain(byDomain, fromDomain);
      if (forFrom.size >= MAX_CACHED_DOMAINS) forFrom.clear();
      forFrom.set(fromDomain, chosen);
    }
    return signMessage(raw, chosen, now);
  };
}

/** The keys of a From domain, or of its nearest parent domain with keys (never a bare TLD). */
function keysForDomain(byDomain: ReadonlyMap<string, DkimKey[]>, fromDomain: string): DkimKey[] {
  const labels = domainToASCII(fromDomain.trim().replace(/\.$/, '')).toLowerCase().split('.');
  for (let i = 0; labels.length - i >= 2 && labels[0] !== ''; i++) {
    const hit = byDomain.get(labels.slice(i).join('.'));
    if (hit) return hit;
  }
  return [];
}

/** The signer for a service context (its database, keyring and clock). */
export function createDkimSigner(ctx: Pick<ServiceContext, 'db' | 'keyring' | 'clock'>): Promise<DkimSigner> {
  return loadDkimSigner(ctx.db, ctx.keyring, ctx.clock);
}

// Distinct From domains seen between reloads; a bound keeps a flood of odd domains from growing it.
const MAX_CACHED_DOMAINS = 10_000;

/** Loads every active key. Throws, naming the key, if one cannot be opened (e.g. CHAPAR_SECRET changed). */
export async function loadDkimSigner(db: Db, keyring: Keyring, clock: Clock): Promise<DkimSigner> {
  // Parsed keys by id, with the sealed text they came from: a reload re-parses only what changed.
  let parsed = new Map<number, { sealed: string; key: DkimKey }>();
  let byDomain = new Map<string, DkimKey[]>();
  const forFrom = new Map<string, DkimKey[]>();

  async function reload(): Promise<void> {
    const rows = await selectActiveSealedDkimKeys(db);
    const next = new Map<number, { sealed: string; key: DkimKey }>();
    for (const row of rows) {
      const seen = parsed.get(row.id);
      if (seen && seen.sealed === row.privateKeySealed) {
        next.set(row.id, seen);
        continue;
      }
      const name = `key ${row.id} (${row.selector}._domainkey.${row.domain})`;
      try {
        next.set(row.id, { sealed: row.privateKeySealed, key: parseDkimKey(unseal(keyring, DKIM_SEAL_PURPOSE, row.privateKeySealed), row.domain, row.selector) });
      } catch (err) {
        throw new Error(`DKIM ${name} cannot be used: ${(err as Error).message}`);
      }
    }
    const domains = new Map<string, DkimKey[]>();
    for (const { key } of next.values()) domains.set(key.domain, [...(domains.get(key.domain) ?? []), key]);
    // RSA on top, Ed25519 below it: both are checked by receivers that follow RFC 6376 (every
    // signature until one passes), and a receiver that reads only the first or does not know
    // Ed25519 (RFC 8463 is not everywhere yet) still meets the RSA one first.
    for (const keys of domains.values()) keys.sort((a, b) => rank(a) - rank(b));
    parsed = next;
    byDomain = domains;
    forFrom.clear();
  }

  function keysFor(fromDomain: string): DkimKey[] {
    let keys = forFrom.get(fromDomain);
    if (keys) return keys;
    keys = [];
    const labels = domainToASCII(fromDomain.trim().replace(/\.$/, '')).toLowerCase().split('.');
    // The domain itself, then each parent that still has two labels (never a bare TLD).
    for (let i = 0; labels.length - i >= 2 && labels[0] !== ''; i++) {
      const hit = byDomain.get(labels.slice(i).join('.'));
      if (hit) {
        keys = hit;
        break;
      }
    }
    if (forFrom.size >= MAX_CACHED_DOMAINS) forFrom.clear();
    forFrom.set(fromDomain, keys);
    return keys;
  }

  await reload();
  return {
    sign: (raw, fromDomain) => signMessageAsync(raw, keysFor(fromDomain), clock.now()),
    reload,
    keys: () => [...parsed.values()].map((p) => p.key),
  };
}

function rank(key: DkimKey): number {
  return key.algorithm === 'rsa-sha256' ? 0 : 1;
}
