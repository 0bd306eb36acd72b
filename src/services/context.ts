import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';
import type { Keyring } from '../lib/secrets.ts';
import type { Composer } from '../templates/compose.ts';
import type { MailTransport } from '../ports/mail-transport.ts';
import type { SoftBouncePolicy } from '../domain/feedback.ts';

/** What every service function needs, passed down from the composition root; no globals. */
export interface ServiceContext {
  db: Db;
  clock: Clock;
  keyring: Keyring;
  logger: Logger;
  /** The Liquid engine and the signed-URL builder, made once at start. */
  composer: Composer;
  /** The address people and providers reach Chapar at, without a trailing slash. */
  publicUrl: string;
  /** Where test sends go (the delivery engine routes the rest). Capture until one is configured. */
  transport: MailTransport;
  /** Tells delivery workers (in this and other processes) that messages are waiting. Fire and forget. */
  wakeDelivery: () => void;
  /** Soft bounces that suppress an address, and their window (CHAPAR_SOFT_BOUNCE_LIMIT / _DAYS); default 3 in 14 days. */
  softBounces?: SoftBouncePolicy;
}
