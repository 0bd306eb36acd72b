import type { DkimAlgorithm } from '../mta/dkim.ts';
import { normalizeEmail } from './emails.ts';

// DKIM keys as the rest of Chapar sees them: never the private half, always where to publish the
// public half. Pure rules for the names a key lives under.

export const DKIM_ALGORITHMS = ['rsa-sha256', 'ed25519-sha256'] as const satisfies readonly DkimAlgorithm[];
export const DKIM_KEY_STATUSES = ['active', 'retired'] as const;
export type DkimKeyStatus = (typeof DKIM_KEY_STATUSES)[number];

/** A stored signing key without its private half. */
export interface DkimKeyInfo {
  id: number;
  /** Lower-case IDNA ASCII (`xn--…` for internationalised domains), as in d= and DNS. */
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  status: DkimKeyStatus;
  /** The TXT record's name: `<selector>._domainkey.<domain>`. */
  dnsName: string;
  /** The TXT record's value: `v=DKIM1; k=…; p=…`. */
  dnsValue: string;
  createdAt: number;
  retiredAt: number | null;
}

/** Where a key's public half is published (RFC 6376 3.6.2.1). */
export function dkimRecordName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

/**
 * Checks a signing domain and returns its lower-case ASCII form, or why it is not one. The same
 * rules as an address's domain (IDNA, labels, a dot, no IP literal), so any From domain Chapar
 * accepts can have a key.
 */
export function checkSigningDomain(input: string): { ok: true; domain: string } | { ok: false; reason: string } {
  const raw = input.trim();
  if (raw === '') return { ok: false, reason: 'is empty' };
  if (/[@\s]/.test(raw)) return { ok: false, reason: `"${raw}" is not a domain name (no @ or spaces: give shop.example, not an address)` };
  const check = normalizeEmail(`postmaster@${raw}`);
  if (!check.ok) return { ok: false, reason: check.reason };
  return { ok: true, domain: check.value.asciiDomain };
}

// RFC 6376 3.1: a selector is one or more DNS labels (letters, digits, inner hyphens), dot-separated.
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Checks a selector and returns it lower-cased (DNS names are case-insensitive), or why it is not one. */
export function checkSelector(input: string): { ok: true; selector: string } | { ok: false; reason: string } {
  const selector = input.trim().toLowerCase();
  if (selector === '') return { ok: false, reason: 'is empty' };
  if (selector.length > 63 * 2 + 1) return { ok: false, reason: 'is longer than 127 characters' };
  const bad = selector.split('.').find((l) => !LABEL.test(l));
  if (bad !== undefined) return { ok: false, reason: `"${input.trim()}" is not a DNS label: use letters, digits and inner hyphens, e.g. "chapar2026" or "ed2026"` };
  return { ok: true, selector };
}

/**
 * The record as a zone-file line. TXT strings hold at most 255 bytes, and an RSA-2048 value is
 * about 410, so it is split into several quoted strings that resolvers join back together.
 */
export function dnsZoneRecord(name: string, value: string): string {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 255) parts.push(`"${value.slice(i, i + 255)}"`);
  return `${name}. IN TXT ( ${parts.join(' ')} )`;
}
