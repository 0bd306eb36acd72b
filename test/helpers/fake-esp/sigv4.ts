import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ReceivedRequest } from './http-server.ts';

/** The credentials and scope a fake AWS endpoint accepts. */
export interface SigV4Expectation {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
  service: string;
  /** The verifier's "now"; requests signed more than 5 minutes away from it are refused. */
  now: () => number;
}

/** Why a request's signature was refused, in AWS's own error names. */
export type SigV4Verdict = { ok: true } | { ok: false; error: 'IncompleteSignatureException' | 'UnrecognizedClientException' | 'InvalidSignatureException' | 'SignatureDoesNotMatch'; message: string };

const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * Checks an AWS Signature Version 4 `Authorization` header by recomputing it from the bytes the
 * server received, step by step as AWS's "Create a signed AWS API request" guide describes
 * (canonical request → string to sign → derived signing key → HMAC). Written apart from the aws4
 * package on purpose: the adapter signs with aws4, so only an independent computation tests it.
 */
export function verifySigV4(req: ReceivedRequest, expect: SigV4Expectation): SigV4Verdict {
  const auth = req.headers.authorization ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { ok: false, error: 'IncompleteSignatureException', message: 'Authorization header is not a well-formed AWS4-HMAC-SHA256 header' };
  const [, keyId, date, region, service, signedHeaderList, signature] = m as unknown as string[];
  if (keyId !== expect.accessKeyId) return { ok: false, error: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  if (region !== expect.region || service !== expect.service) return { ok: false, error: 'SignatureDoesNotMatch', message: `Credential should be scoped to a valid region/service, not ${region}/${service}.` };

  const amzDate = header(req, 'x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) return { ok: false, error: 'IncompleteSignatureException', message: 'X-Amz-Date is missing or does not match the credential scope date' };
  const signedAt = Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  if (Math.abs(signedAt - expect.now()) > 5 * 60_000) return { ok: false, error: 'InvalidSignatureException', message: 'Signature expired or not yet current' };

  const signed = signedHeaderList!.split(';');
  const sorted = [...signed].sort();
  if (signed.join(';') !== sorted.join(';')) return { ok: false, error: 'SignatureDoesNotMatch', message: 'SignedHeaders are not sorted' };
  for (const required of ['host', 'x-amz-date', ...(expect.sessionToken ? ['x-amz-security-token'] : [])]) {
    if (!signed.includes(required)) return { ok: false, error: 'SignatureDoesNotMatch', message: `'${required}' must be a signed header` };
  }
  if (expect.sessionToken && header(req, 'x-amz-security-token') !== expect.sessionToken) return { ok: false, error: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };

  const [rawPath, rawQuery = ''] = req.url.split('?') as [string, string?];
  const canonicalRequest = [
    req.method,
    canonicalUri(rawPath),
    canonicalQuery(rawQuery),
    signed.map((name) => `${name}:${header(req, name) ?? ''}\n`).join(''),
    signed.join(';'),
    sha256hex(req.body),
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${expect.secretAccessKey}`, date!);
  const kSigning = hmac(hmac(hmac(kDate, region!), service!), 'aws4_request');
  const expected = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest();
  if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex'))) {
    return { ok: false, error: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.' };
  }
  return { ok: true };
}

// All values of one header, in order, joined by commas, with surrounding and repeated spaces removed.
function header(req: ReceivedRequest, name: string): string | undefined {
  const values: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === name) values.push(req.rawHeaders[i + 1]!.trim().replace(/ +/g, ' '));
  }
  return values.length > 0 ? values.join(',') : undefined;
}

// RFC 3986 encoding as SigV4 wants it: everything but unreserved characters, upper-case hex.
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

// Services other than S3 encode each path segment twice: once on the wire, once more here.
function canonicalUri(path: string): string {
  return path === '' ? '/' : path.split('/').map(uriEncode).join('/');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .map((pair) => pair.split('=') as [string, string?])
    .map(([k, v = '']) => [uriEncode(decodeURIComponent(k)), uriEncode(decodeURIComponent(v))] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}
