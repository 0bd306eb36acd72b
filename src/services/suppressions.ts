import { insertSuppression, selectSuppression, selectSuppressions, deleteSuppression } from '../db/queries/suppressions.ts';
import { normalizeEmail } from '../domain/emails.ts';
import type { Suppression, SuppressionReason } from '../domain/suppressions.ts';
import { AppError, invalid } from '../lib/errors.ts';
import type { Keyring } from '../lib/secrets.ts';
import type { ServiceContext } from './context.ts';

/**
 * The keyed hash that identifies an address on the suppression list. Keyed (HMAC under a key
 * derived from CHAPAR_SECRET) so an erased address cannot be recovered by hashing a list of guesses.
 */
export function suppressionHash(keyring: Keyring, emailKey: string): string {
  return keyring.keyedHash('suppression', emailKey);
}

/** The suppression hash of an address as a contact stores it: its normalised key, or the address in lower case should it no longer normalise. */
export function storedAddressHash(keyring: Keyring, email: string): string {
  const key = normalizeEmail(email);
  return suppressionHash(keyring, key.ok ? key.value.key : email.toLowerCase());
}

/** Puts an address on the suppression list for a reason. Idempotent per (address, reason). */
export async function suppressAddress(
  ctx: ServiceContext,
  s: { email: string; reason: SuppressionReason; source: string; note?: string | null },
): Promise<{ created: boolean }> {
  const r = normalizeEmail(s.email);
  if (!r.ok) throw invalid('email', `"${s.email}" is not a valid email address: it ${r.reason}`);
  if (s.reason === 'erased') throw invalid('reason', '"erased" is set only by erasing a contact');
  const created = await insertSuppression(
    ctx.db,
    { email: r.value.email, emailHash: suppressionHash(ctx.keyring, r.value.key), reason: s.reason, source: s.source, note: s.note ?? null },
    ctx.clock.now(),
  );
  return { created };
}

/** Lists suppressions, optionally for one address or reason, with a keyset cursor. */
export async function listSuppressions(
  ctx: ServiceContext,
  q: { email?: string; reason?: SuppressionReason; afterId?: number; limit: number },
): Promise<Suppression[]> {
  let emailHash: string | undefined;
  if (q.email !== undefined) {
    const r = normalizeEmail(q.email);
    if (!r.ok) throw invalid('email', `"${q.email}" is not a valid email address: it ${r.reason}`);
    emailHash = suppressionHash(ctx.keyring, r.value.key);
  }
  return selectSuppressions(ctx.db, { emailHash, reason: q.reason, afterId: q.afterId, limit: q.limit });
}

/** Removes one suppression. Erasure entries stay: removing one would make an erased person mailable. */
export async function removeSuppression(ctx: ServiceContext, id: number): Promise<void> {
  const s = await selectSuppression(ctx.db, id);
  if (!s) throw new AppError('not_found', `suppression ${id} does not exist`);
  if (s.reason === 'erased') {
    throw new AppError('conflict', `suppression ${id} records an erasure (GDPR) and cannot be removed`, [{ field: 'id', message: 'erasure entries are permanent' }]);
  }
  await deleteSuppression(ctx.db, id);
}
