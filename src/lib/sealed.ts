import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './secrets.ts';

// Secrets at rest (DKIM private keys, ESP credentials, SMTP passwords) are sealed with AES-256-GCM
// under a key derived from the master secret for the purpose, so a copied database file alone
// reveals nothing, and a sealed value moved to another purpose (or tampered with) fails to open.
// Format: "v1." + base64url(iv 12 bytes | tag 16 bytes | ciphertext).

const VERSION = 'v1.';

/** Encrypts a secret for storage under the purpose's key (e.g. `dkim-key`, `transport-secret`). */
export function seal(keyring: Keyring, purpose: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyring.key(`sealed:${purpose}`), iv);
  cipher.setAAD(Buffer.from(purpose));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return VERSION + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** Decrypts what `seal` made; throws if the value was altered, sealed for another purpose, or under another master secret. */
export function unseal(keyring: Keyring, purpose: string, sealed: string): string {
  if (!sealed.startsWith(VERSION)) throw new Error(`a sealed ${purpose} value has an unknown format`);
  const bytes = Buffer.from(sealed.slice(VERSION.length), 'base64url');
  if (bytes.length < 28) throw new Error(`a sealed ${purpose} value is truncated`);
  const decipher = createDecipheriv('aes-256-gcm', keyring.key(`sealed:${purpose}`), bytes.subarray(0, 12));
  decipher.setAAD(Buffer.from(purpose));
  decipher.setAuthTag(bytes.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new Error(`a sealed ${purpose} value cannot be opened: altered, or sealed under another CHAPAR_SECRET`);
  }
}
