import { domainToASCII, domainToUnicode } from 'node:url';

/** A valid, normalised address: `email` for display and sending, `key` for identity and uniqueness. */
export interface NormalizedEmail {
  /** Trimmed, NFC, domain lower-cased in its Unicode form; the local part keeps its case. */
  email: string;
  /** The whole address lower-cased: two addresses with the same key are the same person. */
  key: string;
  /** The domain in Unicode form (`bücher.de`), lower-cased. */
  domain: string;
  /** The domain as the DNS knows it (`xn--bcher-kva.de`). */
  asciiDomain: string;
}

export type EmailCheck = { ok: true; value: NormalizedEmail } | { ok: false; reason: string };

// Characters a dot-atom local part may hold (RFC 5322 atext), plus any non-ASCII letter (RFC 6531).
// Quoted local parts ("john doe"@x) are legal but so rare in commerce that accepting them only
// opens the door to injection and display bugs; they are rejected with a clear reason.
const LOCAL_ATEXT = /^[.A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uFFFF]+$/u;
const CONTROL = /[\u0000-\u001F\u007F\s]/u;

/**
 * Validates and normalises one email address. Pure and cheap (a few microseconds), so imports can
 * call it per row. Internationalised domains are canonicalised through their ASCII form so that
 * `Bücher.DE` and `xn--bcher-kva.de` are the same address.
 */
export function normalizeEmail(input: string): EmailCheck {
  const trimmed = input.trim().normalize('NFC');
  if (trimmed === '') return { ok: false, reason: 'is empty' };
  if (trimmed.length > 254) return { ok: false, reason: 'is longer than 254 characters' };
  if (CONTROL.test(trimmed)) return { ok: false, reason: 'contains spaces or control characters' };
  const at = trimmed.lastIndexOf('@');
  if (at < 0) return { ok: false, reason: 'has no @' };
  const local = trimmed.slice(0, at);
  const rawDomain = trimmed.slice(at + 1);
  if (local === '') return { ok: false, reason: 'has nothing before the @' };
  if (local.includes('@') || local.includes('"')) return { ok: false, reason: 'has a quoted or multi-@ local part' };
  if (Buffer.byteLength(local) > 64) return { ok: false, reason: 'local part is longer than 64 bytes' };
  if (!LOCAL_ATEXT.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    return { ok: false, reason: `local part "${local}" has characters or dots not allowed in an address` };
  }
  if (rawDomain === '') return { ok: false, reason: 'has no domain after the @' };
  if (rawDomain.startsWith('[')) return { ok: false, reason: 'IP-literal domains are not accepted' };
  const d = checkDomain(rawDomain);
  if (typeof d === 'string') return { ok: false, reason: d };
  const { asciiDomain, domain } = d;
  const email = `${local}@${domain}`;
  return { ok: true, value: { email, key: email.toLowerCase(), domain, asciiDomain } };
}


const domainCache = new Map<string, { asciiDomain: string; domain: string } | string>();

/**
 * Checks and canonicalises a domain (IDNA, lower case), or returns why it is not one. Memoised:
 * a list has few distinct domains, and IDNA conversion is the costly part of checking an address.
 */
function checkDomain(rawDomain: string): { asciiDomain: string; domain: string } | string {
  let hit = domainCache.get(rawDomain);
  if (hit === undefined) {
    hit = canonicalDomain(rawDomain);
    if (domainCache.size < 50_000) domainCache.set(rawDomain, hit);
  }
  return hit;
}

function canonicalDomain(rawDomain: string): { asciiDomain: string; domain: string } | string {
  const asciiDomain = domainToASCII(rawDomain.replace(/\.$/, ''));
  if (asciiDomain === '') return `domain "${rawDomain}" is not a valid domain name`;
  const labels = asciiDomain.split('.');
  if (labels.length < 2) return `domain "${rawDomain}" has no dot`;
  for (const label of labels) {
    if (label.length === 0 || label.length > 63 || !/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(label)) {
      return `domain "${rawDomain}" has an invalid label "${label}"`;
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return `domain "${rawDomain}" ends in a number`;
  if (asciiDomain.length > 253) return 'domain is longer than 253 characters';
  return { asciiDomain, domain: domainToUnicode(asciiDomain) };
}
