import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring } from '../../src/lib/secrets.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { loadDkimSigner } from '../../src/services/dkim-signer.ts';
import { openTestCli, type TestCli } from '../helpers/cli.ts';
import { DIALECTS } from '../helpers/databases.ts';

const SECRET = Buffer.alloc(32, 7); // the master secret openTestCli gives the CLI

describe.each(DIALECTS)('chapar dkim on %s', (dialect) => {
  let cli: TestCli;
  beforeAll(async () => {
    cli = await openTestCli(dialect);
  });
  afterAll(async () => cli.close());

  it('generates keys and prints the record to publish, as name/value and as a zone-file line', async () => {
    const rsa = await cli.run(['dkim', 'generate', '--domain', 'shop.example', '--selector', 'chapar2026']);
    expect(rsa.code).toBe(0);
    expect(rsa.stderr).toBe('');
    expect(rsa.stdout).toMatch(/^created DKIM key \d+ \(rsa-sha256\) for shop\.example\n/);
    const value = /^  value: (v=DKIM1; k=rsa; p=\S+)$/m.exec(rsa.stdout)![1]!;
    expect(rsa.stdout).toContain('  name:  chapar2026._domainkey.shop.example\n');
    // The zone-file form: the same value cut into quoted strings of at most 255 characters.
    const zone = /^  (chapar2026\._domainkey\.shop\.example\. IN TXT \( (.+) \))$/m.exec(rsa.stdout)!;
    const strings = [...zone[2]!.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    expect(strings.length).toBeGreaterThan(1);
    expect(strings.every((s) => s.length <= 255)).toBe(true);
    expect(strings.join('')).toBe(value);

    const ed = await cli.run(['dkim', 'generate', '--domain', 'shop.example', '--selector', 'ed2026', '--algorithm', 'ed25519']);
    expect(ed.stdout).toMatch(/^created DKIM key \d+ \(ed25519-sha256\) for shop\.example\n[\s\S]*  value: v=DKIM1; k=ed25519; p=/);

    // The keys sign through the signer the delivery engine loads from the same database.
    const zoneRecords: Record<string, string> = { 'chapar2026._domainkey.shop.example': value, 'ed2026._domainkey.shop.example': /^  value: (.+)$/m.exec(ed.stdout)![1]! };
    const signer = await loadDkimSigner(cli.db, createKeyring(SECRET), systemClock);
    const signed = await signer.sign(Buffer.from('From: a@shop.example\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nHello\r\n'), 'shop.example');
    const resolver = async (name: string) => (zoneRecords[name] ? [[zoneRecords[name]!]] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' })));
    expect((await dkimVerify(signed, { resolver })).results.map((r) => r.status.result)).toEqual(['pass', 'pass']);
  });

  it('imports a PEM from a file or stdin, warning about a 1024-bit key on stderr', async () => {
    const file = cli.path('opendkim.private');
    writeFileSync(file, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }));
    const weak = await cli.run(['dkim', 'import', '--domain', 'old.example', '--selector', 'default', '--key-file', file]);
    expect(weak.code).toBe(0);
    expect(weak.stdout).toMatch(/^imported DKIM key \d+ \(rsa-sha256\) for old\.example\n/);
    expect(weak.stderr).toMatch(/^warning: the RSA key has 1024 bits/);

    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const piped = await cli.run(['dkim', 'import', '--domain', 'old.example', '--selector', 'ed', '--key-file', '-'], Readable.from([pem]));
    expect(piped).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^imported DKIM key \d+ \(ed25519-sha256\)/) });
    expect(piped.stdout).not.toContain(pem.split('\n')[1]!);
  });

  it('lists keys with their records and retires them; never prints a private key', async () => {
    const list = await cli.run(['dkim', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('id\tstatus\talgorithm\tDNS name\tTXT value');
    expect(lines.slice(1).map((l) => l.split('\t').slice(1, 4))).toEqual(
      expect.arrayContaining([
        ['active', 'rsa-sha256', 'chapar2026._domainkey.shop.example'],
        ['active', 'ed25519-sha256', 'ed2026._domainkey.shop.example'],
        ['active', 'rsa-sha256', 'default._domainkey.old.example'],
      ]),
    );
    expect(list.stdout).not.toMatch(/PRIVATE KEY/);
    const id = lines.find((l) => l.includes('default._domainkey.old.example'))!.split('\t')[0]!;
    expect(await cli.run(['dkim', 'retire', id])).toEqual({ code: 0, stdout: `retired DKIM key ${id} (default._domainkey.old.example)\n`, stderr: '' });
    expect((await cli.run(['dkim', 'list'])).stdout).toMatch(new RegExp(`^${id}\\tretired\\t`, 'm'));
  });

  it('refuses bad input with exit 2 and a message naming it', async () => {
    expect(await cli.run(['dkim', 'generate', '--domain', 'shop.example', '--selector', 's', '--algorithm', 'dsa'])).toEqual({ code: 2, stdout: '', stderr: 'error: --algorithm: "dsa" is not one of rsa, ed25519\n' });
    expect(await cli.run(['dkim', 'generate', '--domain', 'shop.example', '--selector', 'chapar2026'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: selector "chapar2026" of shop\.example is already used by key \d+ \(active\)/) });
    expect(await cli.run(['dkim', 'generate', '--domain', 'a@b.example', '--selector', 's'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: domain: /) });
    expect(await cli.run(['dkim', 'import', '--domain', 'x.example', '--selector', 's', '--key-file', cli.path('missing.pem')])).toEqual({ code: 2, stdout: '', stderr: `error: --key-file: cannot read ${cli.path('missing.pem')}: ENOENT\n` });
    const notKey = cli.path('not-a-key.pem');
    writeFileSync(notKey, 'hello');
    expect(await cli.run(['dkim', 'import', '--domain', 'x.example', '--selector', 's', '--key-file', notKey])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: privateKey: not a readable, unencrypted PEM private key/) });
    expect(await cli.run(['dkim', 'retire', 'abc'])).toEqual({ code: 2, stdout: '', stderr: 'error: id: "abc" is not a key id\n' });
    expect(await cli.run(['dkim', 'retire', '999999'])).toEqual({ code: 2, stdout: '', stderr: 'error: DKIM key 999999 does not exist\n' });
  });
});
