import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unseal } from '../../src/lib/sealed.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

// Keys in the forms an operator brings: OpenDKIM's opendkim-genkey writes PKCS#1 ("BEGIN RSA
// PRIVATE KEY"), often 1024 bits; OpenSSL 3 writes PKCS#8.
const rsa2048Pkcs1 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsa512 = generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const edPair = generateKeyPairSync('ed25519');
const edPem = edPair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const encrypted = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }).toString();

/** The RSA public key in a TXT value, as SPKI DER (what p= holds for k=rsa). */
const spkiOf = (pem: string) => createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' }).toString('base64');

describe.each(DIALECTS)('DKIM keys API on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t?.close());

  it('generates an RSA-2048 key by default and an Ed25519 key on request, with the TXT record to publish', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'Shop.Example', selector: 'Chapar2026' } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ domain: 'shop.example', selector: 'chapar2026', algorithm: 'rsa-sha256', status: 'active', dnsName: 'chapar2026._domainkey.shop.example', createdAt: '2026-11-27T10:00:00.000Z', retiredAt: null });
    expect(r.json.dnsValue).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$/);
    const pub = createPublicKey({ key: Buffer.from(r.json.dnsValue.split('p=')[1], 'base64'), format: 'der', type: 'spki' });
    expect(pub.asymmetricKeyDetails?.modulusLength).toBe(2048);

    const ed = await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'shop.example', selector: 'ed2026', algorithm: 'ed25519-sha256' } });
    expect(ed.status).toBe(201);
    expect(ed.json).toMatchObject({ algorithm: 'ed25519-sha256', dnsName: 'ed2026._domainkey.shop.example' });
    expect(ed.json.dnsValue).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
  });

  it('stores the private key sealed: not in the row in clear, opened only with the master secret, never in a response', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/dkim-keys/import', body: { domain: 'sealed.example', selector: 's1', privateKey: rsa2048Pkcs1 } });
    expect(r.status).toBe(201);
    const pemBody = rsa2048Pkcs1.split('\n')[1]!;
    const rows = await t.db.k.selectFrom('dkimKeys').selectAll().execute();
    const row = rows.find((x) => x.id === r.json.id)!;
    expect(JSON.stringify(rows)).not.toMatch(/PRIVATE KEY/);
    expect(JSON.stringify(rows)).not.toContain(pemBody);
    expect(row.privateKeySealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    // Sealed under the `dkim-key` purpose, stored as PKCS#8, the same key that was imported.
    const opened = unseal(t.app.ctx.keyring, 'dkim-key', row.privateKeySealed);
    expect(opened).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(spkiOf(opened)).toBe(spkiOf(rsa2048Pkcs1));
    expect(() => unseal(t.app.ctx.keyring, 'transport-secret', row.privateKeySealed)).toThrow(/cannot be opened/);

    for (const res of [r, await t.request({ method: 'GET', url: '/api/v1/dkim-keys' }), await t.request({ method: 'GET', url: `/api/v1/dkim-keys/${r.json.id}` })]) {
      expect(res.body).not.toMatch(/PRIVATE KEY|privateKey|Sealed/);
    }
    const list = await t.request({ method: 'GET', url: '/api/v1/dkim-keys', scope: 'read' });
    expect(list.status).toBe(200);
    expect(list.json.items.find((k: { id: number }) => k.id === r.json.id)).toEqual({
      id: r.json.id, domain: 'sealed.example', selector: 's1', algorithm: 'rsa-sha256', status: 'active',
      dnsName: 's1._domainkey.sealed.example', dnsValue: `v=DKIM1; k=rsa; p=${spkiOf(rsa2048Pkcs1)}`, createdAt: '2026-11-27T10:00:00.000Z', retiredAt: null,
    });
  });

  it('imports Ed25519 and RSA-1024 (with a warning to rotate) keys', async () => {
    const ed = await t.request({ method: 'POST', url: '/api/v1/dkim-keys/import', body: { domain: 'import.example', selector: 'ed', privateKey: edPem } });
    expect(ed.status).toBe(201);
    expect(ed.json).toMatchObject({ algorithm: 'ed25519-sha256', warnings: [] });
    expect(ed.json.dnsValue).toBe(`v=DKIM1; k=ed25519; p=${edPair.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64')}`);

    const weak = await t.request({ method: 'POST', url: '/api/v1/dkim-keys/import', body: { domain: 'import.example', selector: 'old1024', privateKey: rsa1024 } });
    expect(weak.status).toBe(201);
    expect(weak.json.warnings).toEqual([expect.stringMatching(/1024 bits.*2048 is recommended/)]);
  });

  it('refuses keys that are not usable DKIM private keys with 400 on privateKey, never echoing the key', async () => {
    const cases: [string, RegExp][] = [
      ['not a key at all', /not a readable, unencrypted PEM private key/],
      [rsa512, /512 bits; DKIM needs at least 1024/],
      [ecKey, /must be RSA or Ed25519, not ec/],
      [encrypted, /not a readable, unencrypted PEM private key/],
      [createPublicKey(createPrivateKey(rsa1024)).export({ type: 'spki', format: 'pem' }).toString(), /not a readable, unencrypted PEM private key/],
    ];
    for (const [privateKey, message] of cases) {
      const r = await t.request({ method: 'POST', url: '/api/v1/dkim-keys/import', body: { domain: 'bad.example', selector: 'bad', privateKey } });
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ code: 'validation_failed', details: [{ field: 'privateKey', message: expect.stringMatching(message) }] });
      if (privateKey.includes('-----')) expect(r.body).not.toContain(privateKey.split('\n')[1]!);
    }
    expect((await t.db.k.selectFrom('dkimKeys').select('id').where('domain', '=', 'bad.example').execute()).length).toBe(0);
  });

  it('names the wrong input: domain, selector, algorithm', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ domain: 'news@shop.example', selector: 's' }, 'domain'],
      [{ domain: 'localhost', selector: 's' }, 'domain'],
      [{ domain: 'bad_label.example', selector: 's' }, 'domain'],
      [{ domain: 'shop.example', selector: 'under_score' }, 'selector'],
      [{ domain: 'shop.example', selector: '-dash' }, 'selector'],
      [{ domain: 'shop.example', selector: 'a b' }, 'selector'],
      [{ domain: 'shop.example', selector: 's', algorithm: 'rsa-sha1' }, 'algorithm'],
      [{ domain: 'shop.example', selector: 's', privateKey: edPem }, 'privateKey'],
    ];
    for (const [body, field] of cases) {
      const r = await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body });
      expect({ body, status: r.status, field: r.json.error.details[0].field }).toEqual({ body, status: 400, field });
    }
  });

  it('keeps internationalised domains in their IDNA ASCII form', async () => {
    const r = await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'Bücher.example', selector: 'idn', algorithm: 'ed25519-sha256' } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ domain: 'xn--bcher-kva.example', dnsName: 'idn._domainkey.xn--bcher-kva.example' });
  });

  it('409 when the selector is taken for the domain (in any spelling, retired or not); free on another domain', async () => {
    const first = await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'dup.example', selector: 'dup', algorithm: 'ed25519-sha256' } });
    expect(first.status).toBe(201);
    for (const body of [{ domain: 'DUP.example.', selector: 'DUP' }, { domain: 'dup.example', selector: 'dup', algorithm: 'ed25519-sha256' }]) {
      const r = await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body });
      expect(r.status).toBe(409);
      expect(r.json.error).toMatchObject({ code: 'conflict', message: expect.stringContaining(`key ${first.json.id} (active)`), details: [{ field: 'selector' }] });
    }
    const imported = await t.request({ method: 'POST', url: '/api/v1/dkim-keys/import', body: { domain: 'dup.example', selector: 'dup', privateKey: edPem } });
    expect(imported.status).toBe(409);
    await t.request({ method: 'POST', url: `/api/v1/dkim-keys/${first.json.id}/retire` });
    expect((await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'dup.example', selector: 'dup' } })).json.error.message).toContain('(retired)');
    expect((await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'other.example', selector: 'dup', algorithm: 'ed25519-sha256' } })).status).toBe(201);
  });

  it('retires and deletes keys; a deleted key is gone with its private half', async () => {
    const k = await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body: { domain: 'life.example', selector: 'one', algorithm: 'ed25519-sha256' } });
    t.clock.advance(60_000);
    const retired = await t.request({ method: 'POST', url: `/api/v1/dkim-keys/${k.json.id}/retire` });
    expect(retired.status).toBe(200);
    expect(retired.json).toMatchObject({ status: 'retired', retiredAt: '2026-11-27T10:01:00.000Z' });
    expect((await t.request({ method: 'POST', url: `/api/v1/dkim-keys/${k.json.id}/retire` })).status).toBe(409);
    expect((await t.request({ method: 'DELETE', url: `/api/v1/dkim-keys/${k.json.id}` })).status).toBe(204);
    expect((await t.request({ method: 'GET', url: `/api/v1/dkim-keys/${k.json.id}` })).status).toBe(404);
    expect((await t.request({ method: 'DELETE', url: `/api/v1/dkim-keys/${k.json.id}` })).status).toBe(404);
    expect((await t.request({ method: 'POST', url: `/api/v1/dkim-keys/${k.json.id}/retire` })).status).toBe(404);
    expect(await t.db.k.selectFrom('dkimKeys').select('id').where('id', '=', k.json.id).execute()).toEqual([]);
  });

  it('describes the routes in the OpenAPI document', async () => {
    const doc = (await t.request({ method: 'GET', url: '/api/docs/json', scope: 'none' })).json;
    expect(Object.keys(doc.paths).filter((p) => p.includes('dkim'))).toEqual(['/api/v1/dkim-keys', '/api/v1/dkim-keys/{id}', '/api/v1/dkim-keys/import', '/api/v1/dkim-keys/{id}/retire']);
    expect(doc.paths['/api/v1/dkim-keys'].post.requestBody.content['application/json'].schema.properties.algorithm.enum).toEqual(['rsa-sha256', 'ed25519-sha256']);
  });

  it('needs an admin key to change keys; a read key may list them', async () => {
    for (const scope of ['read', 'write'] as const) {
      const create = await t.request({ method: 'POST', url: '/api/v1/dkim-keys', scope, body: { domain: 'scope.example', selector: 'x', algorithm: 'ed25519-sha256' } });
      expect(create.status).toBe(403);
      const imp = await t.request({ method: 'POST', url: '/api/v1/dkim-keys/import', scope, body: { domain: 'scope.example', selector: 'x', privateKey: edPem } });
      expect(imp.status).toBe(403);
      expect((await t.request({ method: 'DELETE', url: '/api/v1/dkim-keys/1', scope })).status).toBe(403);
      expect((await t.request({ method: 'POST', url: '/api/v1/dkim-keys/1/retire', scope })).status).toBe(403);
    }
    expect((await t.request({ method: 'GET', url: '/api/v1/dkim-keys', scope: 'read' })).status).toBe(200);
    expect((await t.request({ method: 'GET', url: '/api/v1/dkim-keys', scope: 'none' })).status).toBe(401);
    expect(await t.db.k.selectFrom('dkimKeys').select('id').where('domain', '=', 'scope.example').execute()).toEqual([]);
  });
});
