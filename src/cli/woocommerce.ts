import type { Command } from 'commander';
import { openWooShopDb } from '../adapters/store/woocommerce-db.ts';
import { createWooRestClient, type WooAuthMode } from '../adapters/store/woocommerce-rest.ts';
import { invalid } from '../lib/errors.ts';
import type { BackfillHooks, BackfillReport, BackfillResource } from '../services/woocommerce-backfill.ts';
import { backfillWooDb } from '../services/woocommerce-db-backfill.ts';
import { backfillWooRest } from '../services/woocommerce-rest-backfill.ts';
import { withApp, type CliIo } from './io.ts';
import { ProgressBar } from './progress.ts';

interface BackfillFlags {
  rest?: string;
  key?: string;
  secret?: string;
  auth?: string;
  db?: string;
  prefix: string;
  storage: string;
  restart?: boolean;
  quiet?: boolean;
}

const AUTH_MODES: WooAuthMode[] = ['basic', 'query', 'oauth'];

/** `chapar woocommerce backfill`: a shop's history through its REST API or straight from its database. */
export function registerWoocommerce(program: Command, io: CliIo): void {
  const woo = program.command('woocommerce').description('WooCommerce connector tools');
  woo
    .command('backfill')
    .description('store a WooCommerce shop\'s past orders (and, over REST, products and customers); resumable')
    .option('--rest <url>', 'the shop\'s address, e.g. https://shop.example (reads /wp-json/wc/v3)')
    .option('--key <ck_…>', 'REST API consumer key (or CHAPAR_WOOCOMMERCE_KEY)')
    .option('--secret <cs_…>', 'REST API consumer secret (or CHAPAR_WOOCOMMERCE_SECRET, which keeps it out of the process list)')
    .option('--auth <mode>', 'how the keys travel: basic or query (https only), oauth (OAuth 1.0a, the only way over http); default basic over https, oauth over http')
    .option('--db <url>', 'the shop\'s MySQL/MariaDB, e.g. mysql://reader:pass@127.0.0.1:3306/wordpress (read-only session)')
    .option('--prefix <prefix>', 'WordPress table prefix ($table_prefix in wp-config.php)', 'wp_')
    .option('--storage <storage>', 'where the shop keeps orders: auto, hpos (wc_orders tables) or legacy (posts/postmeta)', 'auto')
    .option('--restart', 'forget where the last run stopped and read everything again')
    .option('--quiet', 'no progress display')
    .addHelpText(
      'after',
      `
Give either --rest (with --key and --secret) or --db. Each page is stored before the next is
read, and where the run stands is saved; after a failure or Ctrl-C, run the same command again
to continue. A finished run's next run reads only what is new (REST: changed since the last run
started; database: orders with higher ids). Records already stored are updated, never doubled.

Exit codes: 0 read to the end; 1 stopped part way (rerun to continue); 2 bad options.`,
    )
    .action(async (opts: BackfillFlags) => {
      if (!!opts.rest === !!opts.db) throw invalid('--rest/--db', 'give exactly one: --rest URL (REST API) or --db URL (database)');
      if (!['auto', 'hpos', 'legacy'].includes(opts.storage)) throw invalid('--storage', `"${opts.storage}" is not auto, hpos or legacy`);
      if (opts.auth !== undefined && !AUTH_MODES.includes(opts.auth as WooAuthMode)) throw invalid('--auth', `"${opts.auth}" is not basic, query or oauth`);
      // Checked (and the client built) before the database is opened, so a typo costs nothing.
      const client = opts.rest
        ? createWooRestClient({ url: opts.rest, consumerKey: opts.key ?? io.env.CHAPAR_WOOCOMMERCE_KEY ?? '', consumerSecret: opts.secret ?? io.env.CHAPAR_WOOCOMMERCE_SECRET ?? '', ...(opts.auth ? { auth: opts.auth as WooAuthMode } : {}) })
        : undefined;
      const stop = new AbortController();
      const onSignal = () => {
        io.stderr.write('\nstopping after the current page…\n');
        stop.abort();
      };
      process.once('SIGINT', onSignal);
      try {
        await withApp(io, async (app) => {
          const hooks = progressHooks(io, !!opts.quiet);
          if (client) {
            printReport(io, await backfillWooRest(app.ctx, client, { restart: !!opts.restart, signal: stop.signal }, hooks), hooks);
            return;
          }
          const shop = await openWooShopDb(opts.db!, opts.prefix);
          try {
            const report = await backfillWooDb(app.ctx, shop, { storage: opts.storage as 'auto', restart: !!opts.restart, signal: stop.signal }, hooks);
            io.stderr.write(`${hooks.clear()}orders storage: ${report.storage} (${report.storageReason})\n`);
            printReport(io, report, hooks);
          } finally {
            await shop.close();
          }
        });
      } finally {
        process.off('SIGINT', onSignal);
      }
    });
}

type CliHooks = BackfillHooks & { finish(): void; clear(): string };

// One progress bar per resource, on stderr; stdout carries only the summary.
function progressHooks(io: CliIo, quiet: boolean): CliHooks {
  let bar: ProgressBar | undefined;
  let current: BackfillResource | undefined;
  let last = 0;
  let total: number | undefined;
  // The bar draws at most every 200 ms; the final count of a resource is always drawn (once).
  const finish = () => {
    if (last !== total) bar?.update(last, last, true);
    bar?.finish();
    bar = undefined;
  };
  return {
    onResource(resource, resourceTotal) {
      finish();
      current = resource;
      last = 0;
      total = resourceTotal;
      bar = quiet ? undefined : new ProgressBar(io.stderr, resourceTotal, resource);
    },
    onProgress(p) {
      if (p.resource !== current) return;
      last = p.done;
      bar?.update(p.done, p.done, p.done === total);
    },
    finish,
    clear: () => (bar && io.stderr.isTTY ? '\r\x1b[K' : ''),
  };
}

function printReport(io: CliIo, report: BackfillReport, hooks: CliHooks): void {
  hooks.finish();
  io.stdout.write(`WooCommerce backfill (${report.startedFrom}):\n`);
  for (const [resource, t] of Object.entries(report.tallies)) {
    // store-data tells which customers and orders are new, not which products.
    const created = resource === 'products' ? '' : ` (${t.created} new)`;
    io.stdout.write(`  ${resource}: ${t.read} read, ${t.stored} stored${created}, ${t.unchanged} already newer, ${t.skipped} skipped, ${t.rejected} rejected\n`);
  }
  for (const p of report.problems) io.stdout.write(`  rejected: ${p}\n`);
  if (report.complete) return;
  io.stderr.write(report.error ? `backfill stopped: ${report.error.message}\n` : 'backfill stopped on request.\n');
  io.stderr.write('Everything before that point is stored; run the same command again to continue.\n');
  io.exitCode = 1;
}
