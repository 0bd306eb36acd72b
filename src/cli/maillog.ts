import type { Command } from 'commander';
import pino from 'pino';
import { createApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import { invalid } from '../lib/errors.ts';
import { followMaillog, importMaillog, type MaillogReport } from '../services/maillog.ts';
import { withApp, type CliIo } from './io.ts';

interface MaillogFlags {
  utc?: boolean;
}

const ZONE_HELP = 'classic syslog timestamps (no zone in the line) are UTC; default: this machine\'s local time';

/** `chapar maillog import|follow FILE`: delivery results from Postfix's mail.log as feedback. */
export function registerMaillog(program: Command, io: CliIo): void {
  const maillog = program.command('maillog').description('read delivery results (sent, deferred, bounced, expired) from Postfix\'s mail.log');
  maillog
    .command('import')
    .description('read a whole mail.log once (plain or .gz); safe to repeat, already recorded lines count as duplicates')
    .argument('<file>', 'the log file, e.g. /var/log/mail.log.1 or /var/log/mail.log.2.gz')
    .option('--utc', ZONE_HELP)
    .action(async (file: string, opts: MaillogFlags) => {
      await withApp(io, async (app) => {
        const report = await importMaillog(app.ctx, file, { zone: opts.utc ? 'utc' : 'local' });
        io.stdout.write(`${describe(report)}\n`);
      });
    });
  maillog
    .command('follow')
    .description('follow a mail.log as it grows (through rotation) until stopped; resumes where it stopped')
    .argument('<file>', 'the log file, e.g. /var/log/mail.log')
    .option('--utc', ZONE_HELP)
    .option('--poll-ms <ms>', 'how often to look for new lines, in milliseconds', '500')
    .action(async (file: string, opts: MaillogFlags & { pollMs: string }) => {
      const pollMs = Number(opts.pollMs);
      if (!/^\d+$/.test(opts.pollMs) || pollMs < 50 || pollMs > 60_000) throw invalid('--poll-ms', `"${opts.pollMs}" is not a number of milliseconds from 50 to 60000`);
      const config = loadConfig(io.env);
      const app = await createApp(config, { logger: pino({ level: config.logLevel }), env: io.env });
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        let told = false;
        const onCaughtUp = (r: MaillogReport) => {
          if (!told) io.stdout.write(`following ${file}: caught up after ${describe(r)}; waiting for more (stop with Ctrl-C or SIGTERM)\n`);
          told = true;
        };
        const report = await followMaillog(app.ctx, file, { zone: opts.utc ? 'utc' : 'local', pollMs, signal: stop.signal, onCaughtUp });
        io.stdout.write(`stopped: ${describe(report)}\n`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await app.close();
      }
    });
}

function describe(r: MaillogReport): string {
  return `${r.lines} lines read, ${r.ours} about our mail: ${r.events} events, ${r.recorded} recorded, ${r.duplicates} duplicates, ${r.unmatched} unmatched`;
}
