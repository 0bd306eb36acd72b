import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpsGet } from '../../src/adapters/feedback/https-get.ts';
import { createTestApp } from '../helpers/app.ts';

// The real fetcher behind SNS certificate downloads and confirmations, against a real TLS server
// on loopback (the test certificate in test/fixtures/tls is its own CA).

const tls = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));

describe('the HTTPS fetcher', () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    server = createServer({ key: tls('localhost.key'), cert: tls('localhost.crt') }, (req, res) => {
      if (req.url === '/cert.pem') res.end('-----BEGIN CERTIFICATE-----\n…');
      else if (req.url === '/big') res.end('x'.repeat(200_000));
      else if (req.url === '/redirect') res.writeHead(302, { location: 'https://attacker.example/' }).end();
      else if (req.url === '/stall') res.writeHead(200); // headers only, then nothing
      else res.writeHead(404).end('no');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://localhost:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const get = createHttpsGet({ tls: { ca: tls('localhost.crt') }, timeoutMs: 1000, maxBytes: 64 * 1024 });

  it('returns the status and body, and does not follow redirects', async () => {
    expect(await get(`${origin}/cert.pem`)).toEqual({ status: 200, body: '-----BEGIN CERTIFICATE-----\n…' });
    expect(await get(`${origin}/missing`)).toEqual({ status: 404, body: 'no' });
    expect((await get(`${origin}/redirect`)).status).toBe(302);
  });

  it('refuses plain http, untrusted certificates, oversized bodies and answers that never finish', async () => {
    await expect(get(`http://localhost/`)).rejects.toThrow('only https is allowed');
    await expect(createHttpsGet()(`${origin}/cert.pem`)).rejects.toThrow(/self[- ]signed/i);
    await expect(get(`${origin}/big`)).rejects.toThrow('larger than 65536 bytes');
    await expect(get(`${origin}/stall`)).rejects.toThrow(/no complete answer from localhost:\d+ within 1000 ms/);
  });
});

describe('webhook rate limit', () => {
  it('answers 429 past the per-IP limit, 503 on the SES route (SNS retries only 5xx), and other IPs go on', async () => {
    const t = await createTestApp('sqlite');
    try {
      const hit = (url: string, ip: string) => t.http.inject({ method: 'POST', url, payload: '{}', headers: { 'content-type': 'application/json' }, remoteAddress: ip });
      for (let i = 0; i < 3000; i++) expect((await hit('/webhooks/mailgun/none', '198.51.100.7')).statusCode).toBe(404);
      const limited = await hit('/webhooks/mailgun/none', '198.51.100.7');
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toBe('60');
      expect((await hit('/webhooks/ses/none', '198.51.100.7')).statusCode).toBe(503);
      expect((await hit('/webhooks/mailgun/none', '198.51.100.8')).statusCode).toBe(404);
      // A new minute, a new allowance.
      t.clock.advance(60_000);
      expect((await hit('/webhooks/mailgun/none', '198.51.100.7')).statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});
