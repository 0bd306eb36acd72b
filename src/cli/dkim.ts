import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { dnsZoneRecord, type DkimKeyInfo } from '../domain/dkim-keys.ts';
import { invalid } from '../lib/errors.ts';
import type { DkimAlgorithm } from '../mta/dkim.ts';
import { createDkimKey, importDkimKey, listDkimKeys, retireDkimKey } from '../services/dkim-keys.ts';
import { withApp, type CliIo } from './io.ts';

const ALGORITHMS: Record<string, DkimAlgorithm> = { rsa: 'rsa-sha256', 'rsa-sha256': 'rsa-sha256', ed25519: 'ed25519-sha256', 'ed25519-sha256': 'ed25519-sha256' };

/** `chapar dkim generate|import|list|retire`: signing keys and the DNS records they need. */
export function registerDkim(program: Command, io: CliIo): void {
  const dkim = program.command('dkim').description('manage DKIM signing keys');
  dkim
    .command('generate')
    .description('make a key pair and print the DNS TXT record to publish (the private key stays encrypted in the database)')
    .requiredOption('--domain <domain>', 'the signing domain, e.g. shop.example')
    .requiredOption('--selector <selector>', 'a new DNS label for this key, e.g. chapar2026')
    .option('--algorithm <algorithm>', 'rsa (RSA-2048) or ed25519', 'rsa')
    .action(async (opts: { domain: string; selector: string; algorithm: string }) => {
      const algorithm = ALGORITHMS[opts.algorithm.toLowerCase()];
      if (!algorithm) throw invalid('--algorithm', `"${opts.algorithm}" is not one of rsa, ed25519`);
      await withApp(io, async (app) => {
        const key = await createDkimKey(app.ctx, { domain: opts.domain, selector: opts.selector, algorithm });
        io.stdout.write(`created DKIM key ${key.id} (${key.algorithm}) for ${key.domain}\n${publishHint(key)}`);
      });
    });
  dkim
    .command('import')
    .description('import an existing PEM private key (e.g. OpenDKIM\'s <selector>.private); it is stored encrypted')
    .requiredOption('--domain <domain>', 'the signing domain the key is published for')
    .requiredOption('--selector <selector>', 'the selector it is published under')
    .requiredOption('--key-file <path>', 'the PEM file, or - to read it from stdin')
    .action(async (opts: { domain: string; selector: string; keyFile: string }) => {
      const pem = opts.keyFile === '-' ? await readAll((io.stdin ?? process.stdin) as Readable) : readKeyFile(opts.keyFile);
      await withApp(io, async (app) => {
        const { key, warnings } = await importDkimKey(app.ctx, { domain: opts.domain, selector: opts.selector, privateKey: pem });
        for (const w of warnings) io.stderr.write(`warning: ${w}\n`);
        io.stdout.write(`imported DKIM key ${key.id} (${key.algorithm}) for ${key.domain}\n${publishHint(key)}`);
      });
    });
  dkim
    .command('list')
    .description('list DKIM keys with the DNS record each needs (never a private key)')
    .action(async () => {
      await withApp(io, async (app) => {
        io.stdout.write('id\tstatus\talgorithm\tDNS name\tTXT value\n');
        for (const k of await listDkimKeys(app.ctx)) io.stdout.write(`${k.id}\t${k.status}\t${k.algorithm}\t${k.dnsName}\t${k.dnsValue}\n`);
      });
    });
  dkim
    .command('retire')
    .description('stop signing with a key (leave its DNS record published a few days more)')
    .argument('<id>', 'the key id (see dkim list)')
    .action(async (id: string) => {
      if (!/^\d+$/.test(id)) throw invalid('id', `"${id}" is not a key id`);
      await withApp(io, async (app) => {
        const key = await retireDkimKey(app.ctx, Number(id));
        io.stdout.write(`retired DKIM key ${key.id} (${key.dnsName})\n`);
      });
    });
}

function publishHint(key: DkimKeyInfo): string {
  return [
    'publish this TXT record; mail from the domain (and its subdomains) is signed with the key from now on:',
    `  name:  ${key.dnsName}`,
    `  value: ${key.dnsValue}`,
    'as a zone-file line (long values are split into 255-character strings):',
    `  ${dnsZoneRecord(key.dnsName, key.dnsValue)}`,
    '',
  ].join('\n');
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw invalid('--key-file', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
