import type { Db } from '../db/database.ts';
import { selectStatusByEmailKey } from '../db/queries/subscriptions.ts';
import { selectSuppressionReasons } from '../db/queries/suppressions.ts';
import type { SubscriptionStatus } from '../domain/consent.ts';
import { normalizeEmail } from '../domain/emails.ts';
import { decideSendPermission, type MailKind, type SendPermission } from '../domain/suppressions.ts';
import type { Keyring } from '../lib/secrets.ts';
import { suppressionHash } from './suppressions.ts';

export interface SendPermissionQuery {
  email: string;
  kind: MailKind;
  /** Required for marketing mail: the topic the message belongs to. */
  topicKey?: string;
}

/**
 * "May this address get this kind of mail now?" — the one check every send path makes, at the
 * moment of sending. Two indexed point lookups (suppression hash; subscription by address and
 * topic) and a pure decision, so it is cheap enough to call per message.
 */
export async function checkSendPermission(deps: { db: Db; keyring: Keyring }, q: SendPermissionQuery): Promise<SendPermission> {
  const norm = normalizeEmail(q.email);
  if (!norm.ok) return { allowed: false, reason: 'invalid_address' };
  const suppressions = await selectSuppressionReasons(deps.db, suppressionHash(deps.keyring, norm.value.key));
  let topicStatus: SubscriptionStatus | null = null;
  if (q.kind === 'marketing' && q.topicKey !== undefined && suppressions.length === 0) {
    topicStatus = await selectStatusByEmailKey(deps.db, norm.value.key, q.topicKey);
  }
  return decideSendPermission({ kind: q.kind, suppressions, topicStatus, hasTopic: q.topicKey !== undefined });
}
