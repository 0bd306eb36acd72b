import { verify, type KeyObject } from 'node:crypto';
import { objectOf, type Verification } from './webhook-reading.ts';

// Amazon SNS HTTP(S) deliveries (formats.md §4.3): a JSON envelope signed with RSA PKCS#1 v1.5,
// SHA1 for SignatureVersion 1 and SHA256 for 2, by the key in the X.509 certificate at
// SigningCertURL. Trust comes from that URL being an AWS SNS host reached over HTTPS, which is
// what AWS's own validators check; the certificate chain itself is not walked.

/** The hosts SNS signing certificates and subscription links live on, as AWS's validators accept them. */
export const SNS_HOST = /^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$/;

/** The three kinds of message SNS posts to an HTTP(S) subscriber. */
export type SnsMessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

/** An SNS envelope with every field its type needs present as a string. */
export interface SnsEnvelope {
  Type: SnsMessageType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: '1' | '2';
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  /** Confirmations only. */
  SubscribeURL?: string;
  Token?: string;
}

/** What an SNS-facing body is: a signed envelope, a bare SES notification (raw message delivery), or neither. */
export type SnsBody = { kind: 'envelope'; envelope: SnsEnvelope } | { kind: 'raw'; message: Record<string, unknown> } | { kind: 'unreadable'; why: string };

const TYPES: readonly string[] = ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'];

/** Reads a body posted by SNS; says exactly which field is missing when it is not a usable envelope. */
export function parseSnsBody(body: Buffer): SnsBody {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { kind: 'unreadable', why: 'the body is not JSON' };
  }
  const o = objectOf(json);
  if (!o) return { kind: 'unreadable', why: 'the body is not a JSON object' };
  // Raw message delivery posts the SES notification itself: no Type, no Signature.
  if (o.Type === undefined && o.Signature === undefined && objectOf(o.mail) && (typeof o.notificationType === 'string' || typeof o.eventType === 'string')) {
    return { kind: 'raw', message: o };
  }
  if (typeof o.Type !== 'string' || !TYPES.includes(o.Type)) return { kind: 'unreadable', why: `"Type" is ${JSON.stringify(o.Type ?? null).slice(0, 60)}, not an SNS message type` };
  const confirmation = o.Type !== 'Notification';
  const required = ['MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL', ...(confirmation ? ['SubscribeURL', 'Token'] : [])];
  const missing = required.filter((k) => typeof o[k] !== 'string' || o[k] === '');
  if (missing.length > 0) return { kind: 'unreadable', why: `the SNS envelope lacks ${missing.join(', ')}` };
  if (o.SignatureVersion !== '1' && o.SignatureVersion !== '2') return { kind: 'unreadable', why: `SignatureVersion "${String(o.SignatureVersion)}" is not supported (1 or 2)` };
  if (o.Subject !== undefined && o.Subject !== null && typeof o.Subject !== 'string') return { kind: 'unreadable', why: '"Subject" is not a string' };
  return { kind: 'envelope', envelope: o as unknown as SnsEnvelope };
}

/** The bytes SNS signs: `Key\nValue\n` for a fixed list of keys per type, in byte order. */
export function snsStringToSign(e: SnsEnvelope): string {
  const keys = e.Type === 'Notification'
    ? ['Message', 'MessageId', ...(typeof e.Subject === 'string' ? ['Subject'] : []), 'Timestamp', 'TopicArn', 'Type']
    : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return keys.map((k) => `${k}\n${(e as unknown as Record<string, string>)[k]}\n`).join('');
}

/**
 * Checks that a URL SNS gave (SigningCertURL, SubscribeURL) points at an AWS SNS host over HTTPS
 * on the default port, without credentials; anything else could make Chapar fetch from, or trust
 * a key served by, a host the sender chose.
 */
export function checkSnsUrl(url: string, field: string): Verification<URL> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, why: `${field} is not a URL` };
  }
  if (u.protocol !== 'https:') return { ok: false, why: `${field} is not https` };
  if (!SNS_HOST.test(u.hostname)) return { ok: false, why: `${field} host "${u.hostname}" is not an Amazon SNS host` };
  if (u.port !== '' || u.username !== '' || u.password !== '') return { ok: false, why: `${field} has a port or credentials` };
  return { ok: true, value: u };
}

/** checkSnsUrl for SigningCertURL, which must also name a `.pem` file (as every AWS certificate URL does). */
export function checkSigningCertUrl(url: string): Verification<URL> {
  const checked = checkSnsUrl(url, 'SigningCertURL');
  if (checked.ok && !checked.value.pathname.endsWith('.pem')) return { ok: false, why: 'SigningCertURL does not name a .pem file' };
  return checked;
}

/** Whether the envelope's signature was made by the certificate's key (`SignatureVersion` picks SHA1 or SHA256). */
export function verifySnsSignature(e: SnsEnvelope, publicKey: KeyObject): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(e.Signature)) return false;
  try {
    return verify(e.SignatureVersion === '1' ? 'sha1' : 'sha256', Buffer.from(snsStringToSign(e), 'utf8'), publicKey, Buffer.from(e.Signature, 'base64'));
  } catch {
    return false;
  }
}
