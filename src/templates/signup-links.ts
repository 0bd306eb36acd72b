import type { Keyring } from '../lib/secrets.ts';
import { LinkSigner } from './link-signer.ts';

// The double opt-in link: `/signup/confirm/<contact>.<topic ids>.<expiry>.<signature>`. Signed
// with its own key (purpose `optin`), so no other link Chapar makes can be turned into one. The
// signature also covers the contact's address (not in the URL): a link stops working if the
// contact's address changes, since clicking it no longer proves control of the inbox it went to.

/** How long a confirmation link works. */
export const SIGNUP_LINK_TTL_MS = 7 * 24 * 3600_000;

/** What a confirmation link names. */
export interface SignupClaims {
  contactId: number;
  /** The topics to confirm (those pending when the email was sent). */
  topicIds: number[];
  /** Epoch ms after which the link no longer confirms. */
  expiresAt: number;
}

/** A confirmation link's parts as read from the URL, before the signature is checked. */
export interface ParsedSignupToken extends SignupClaims {
  signature: string;
}

const TOKEN = /^(\d{1,15})\.(\d{1,15}(?:-\d{1,15}){0,63})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{22})$/;

function signer(keyring: Keyring): LinkSigner {
  return new LinkSigner(keyring.key('optin'));
}

function signedParts(c: SignupClaims, emailKey: string): string[] {
  return [String(c.contactId), emailKey, c.topicIds.join('-'), c.expiresAt.toString(36)];
}

/** Makes the token of a confirmation link for a contact's address and pending topics. */
export function signSignupToken(keyring: Keyring, c: SignupClaims, emailKey: string): string {
  if (c.topicIds.length === 0 || c.topicIds.length > 64) throw new Error('a confirmation link names 1 to 64 topics');
  return `${c.contactId}.${c.topicIds.join('-')}.${c.expiresAt.toString(36)}.${signer(keyring).sign(signedParts(c, emailKey))}`;
}

/** The full confirmation URL for a token. */
export function signupConfirmUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/signup/confirm/${token}`;
}

/** Reads a token's parts, or null when it is not shaped like one (checked before any database read). */
export function parseSignupToken(token: string): ParsedSignupToken | null {
  if (token.length > 1200) return null;
  const m = TOKEN.exec(token);
  if (!m) return null;
  const expiresAt = parseInt(m[3]!, 36);
  const contactId = Number(m[1]);
  const topicIds = m[2]!.split('-').map(Number);
  if (!Number.isSafeInteger(expiresAt) || !Number.isSafeInteger(contactId)) return null;
  return { contactId, topicIds, expiresAt, signature: m[4]! };
}

/** True when the token was signed by this installation for this address (constant-time comparison). */
export function verifySignupToken(keyring: Keyring, t: ParsedSignupToken, emailKey: string): boolean {
  return signer(keyring).verify(signedParts(t, emailKey), t.signature);
}
