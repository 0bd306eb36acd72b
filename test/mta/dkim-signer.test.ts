import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring, type Keyring } from '../../src/lib/secrets.ts';
import { createDkimSigner, loadDkimSigner } from '../../src/services/dkim-signer.ts';
import { createTestApp, TEST_SECRET, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

// The signer the delivery engine uses, on keys made through the API and read back from the
// database (both dialects), checked by mailauth with a declarative zone of the published records.

function message(from: string): Buffer {
  return Buffer.from(
    [
      `From: Kaveh Shop <${from}>`,
      'To: sara@example.com',
      'Subject: =?UTF-8?B?2LPYqNivINiu2LHbjNivINi02YXYpw==?=',
      'Date: Fri, 27 Nov 2026 10:00:00 +0000',
      `Message-ID: <m1@${from.split('@')[1]}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'List-Unsubscribe: <https://mail.shop.example/u/1.n.m1.x>',
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
      'Feedback-ID: c1:t1:marketing:kaveh',
      '',
      'Hi Sara,  your cart is waiting.',
      '',
    ].join('\r\n'),
  );
}

/** A keyring that counts how often the DKIM sealing key is asked for, i.e. how many keys were unsealed. */
function countingKeyring(inner: Keyring): Keyring & { unseals: number } {
  const k = {
    unseals: 0,
    keyedHash: inner.keyedHash,
    key(purpose: string) {
      if (purpose === 'sealed:dkim-key') k.unseals++;
      return inner.key(purpose);
    },
  };
  return k;
}

describe.each(DIALECTS)('DKIM signer on %s', (dialect) => {
  let t: TestApp;
  const zone = new Map<string, string>();
  const resolver = async (name: string, type: string) => {
    if (type === 'TXT' && zone.has(name)) return [[zone.get(name)!]];
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
  const addKey = async (body: Record<string, string>) => {
    const r = await t.request({ method: 'POST', url: '/api/v1/dkim-keys', body });
    expect(r.status).toBe(201);
    zone.set(r.json.dnsName, r.json.dnsValue);
    return r.json as { id: number; dnsName: string };
  };
  const verify = async (raw: Buffer) =>
    (await dkimVerify(raw, { resolver })).results.map((r) => `${(r as unknown as { selector: string }).selector}:${r.status.result}`);

  beforeAll(async () => {
    t = await createTestApp(dialect);
    // Ed25519 made first: the signer still puts the RSA signature on top.
    await addKey({ domain: 'shop.example', selector: 'ed2026', algorithm: 'ed25519-sha256' });
    await addKey({ domain: 'shop.example', selector: 'rsa2026' });
  });
  afterAll(async () => t?.close());

  it('signs with every active key of the domain, RSA first, and mailauth verifies both', async () => {
    const signer = await createDkimSigner(t.app.ctx);
    const signed = await signer.sign(message('news@shop.example'), 'shop.example');
    expect(await verify(signed)).toEqual(['rsa2026:pass', 'ed2026:pass']);
    const head = signed.toString('binary').split('\r\n\r\n')[0]!.replace(/\r\n\t/g, ' ');
    const sigs = head.split('\r\n').filter((l) => l.startsWith('DKIM-Signature:'));
    expect(sigs.map((s) => /a=([^;]+)/.exec(s)![1])).toEqual(['rsa-sha256', 'ed25519-sha256']);
    expect(sigs[0]).toContain(`t=${Math.floor(t.clock.now() / 1000)}`);
    expect(/h=([^;]+)/.exec(sigs[0]!)![1]!.trim()).toBe('from:to:subject:date:message-id:mime-version:content-type:list-unsubscribe:list-unsubscribe-post:feedback-id:from');
  });

  it('signs mail from a subdomain with the parent domain\'s keys, in any spelling; leaves other domains unsigned', async () => {
    const signer = await createDkimSigner(t.app.ctx);
    expect(await verify(await signer.sign(message('news@mail.shop.example'), 'Mail.Shop.Example.'))).toEqual(['rsa2026:pass', 'ed2026:pass']);
    const other = message('news@other.example');
    expect(await signer.sign(other, 'other.example')).toBe(other);
    expect(await signer.sign(other, 'example')).toBe(other);
    expect(await signer.sign(other, '')).toBe(other);
    expect(await signer.sign(other, 'not a domain@@')).toBe(other);
  });

  it('signs for internationalised domains under their ASCII name', async () => {
    await addKey({ domain: 'bücher.example', selector: 'idn', algorithm: 'ed25519-sha256' });
    const signer = await createDkimSigner(t.app.ctx);
    const signed = await signer.sign(message('news@xn--bcher-kva.example'), 'Bücher.example');
    expect(signed.toString()).toContain('d=xn--bcher-kva.example; s=idn');
    expect(await verify(signed)).toEqual(['idn:pass']);
  });

  it('opens and parses each key once; reload picks up new and retired keys and re-opens only new ones', async () => {
    const keyring = countingKeyring(t.app.ctx.keyring);
    const active = (await t.db.k.selectFrom('dkimKeys').select('id').where('status', '=', 'active').execute()).length;
    const signer = await loadDkimSigner(t.app.ctx.db, keyring, t.app.ctx.clock);
    expect(keyring.unseals).toBe(active);
    for (let i = 0; i < 20; i++) await signer.sign(message('news@shop.example'), 'shop.example');
    expect(keyring.unseals).toBe(active);

    const added = await addKey({ domain: 'rotate.example', selector: 'new', algorithm: 'ed25519-sha256' });
    expect((await signer.sign(message('a@rotate.example'), 'rotate.example')).toString()).not.toContain('DKIM-Signature');
    await signer.reload();
    expect(keyring.unseals).toBe(active + 1);
    expect(await verify(await signer.sign(message('a@rotate.example'), 'rotate.example'))).toEqual(['new:pass']);

    expect((await t.request({ method: 'POST', url: `/api/v1/dkim-keys/${added.id}/retire` })).status).toBe(200);
    await signer.reload();
    expect(keyring.unseals).toBe(active + 1);
    expect((await signer.sign(message('a@rotate.example'), 'rotate.example')).toString()).not.toContain('DKIM-Signature');
  });

  it('refuses to start under another master secret, naming the key; a failed reload keeps the keys it had', async () => {
    const wrong = createKeyring(Buffer.alloc(32, 9));
    await expect(loadDkimSigner(t.app.ctx.db, wrong, t.app.ctx.clock)).rejects.toThrow(/DKIM key \d+ \(\w+\._domainkey\.[a-z0-9.-]+\) cannot be used: .*another CHAPAR_SECRET/);

    // A keyring that turns wrong after the first load: the next new key cannot be opened.
    let current: Keyring = createKeyring(Buffer.from(TEST_SECRET, 'base64'));
    const switching: Keyring = { keyedHash: (p, v) => current.keyedHash(p, v), key: (p) => current.key(p) };
    const signer = await loadDkimSigner(t.app.ctx.db, switching, t.app.ctx.clock);
    current = wrong;
    await addKey({ domain: 'late.example', selector: 'late', algorithm: 'ed25519-sha256' });
    await expect(signer.reload()).rejects.toThrow(/late\._domainkey\.late\.example/);
    expect(await verify(await signer.sign(message('news@shop.example'), 'shop.example'))).toEqual(['rsa2026:pass', 'ed2026:pass']);
  });
});
