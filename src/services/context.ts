import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';
import type { Keyring } from '../lib/secrets.ts';

/** What every service function needs, passed down from the composition root; no globals. */
export interface ServiceContext {
  db: Db;
  clock: Clock;
  keyring: Keyring;
  logger: Logger;
}
