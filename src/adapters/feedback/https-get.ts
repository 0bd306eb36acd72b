import { request, type RequestOptions } from 'node:https';
import type { HttpsGet } from '../../ports/https-get.ts';

export interface HttpsGetOptions {
  /** The whole request's deadline: SNS waits for our answer while we fetch, so keep it short. */
  timeoutMs?: number;
  /** Bodies longer than this are refused (a certificate is ~2 KB, a confirmation answer less). */
  maxBytes?: number;
  /** Extra TLS options (tests: a private CA). Certificates are always verified. */
  tls?: Pick<RequestOptions, 'ca'>;
}

/**
 * Real HTTPS GETs with node's `https`: certificate-verified TLS, no redirects followed (a
 * redirect could lead off the checked host), a deadline and a size cap. Only `https:` URLs.
 */
export function createHttpsGet(opts: HttpsGetOptions = {}): HttpsGet {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxBytes ?? 64 * 1024;
  return (url) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      if (u.protocol !== 'https:') {
        reject(new Error(`refusing to fetch ${u.protocol} URL; only https is allowed`));
        return;
      }
      const req = request(u, { method: 'GET', headers: { accept: '*/*', 'user-agent': 'Chapar' }, ...opts.tls, rejectUnauthorized: true }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            req.destroy(new Error(`the answer from ${u.host} is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(deadline);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      });
      // One deadline for connect, TLS, headers and body together (a socket timeout resets on every byte).
      const deadline = setTimeout(() => req.destroy(new Error(`no complete answer from ${u.host} within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (err) => {
        clearTimeout(deadline);
        reject(err);
      });
      req.end();
    });
}
