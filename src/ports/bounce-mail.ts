import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.ts';

/** One message as the bounce receiver took it: its bytes, the RCPT TO addresses (already checked) and the client's IP. */
export interface ReceivedMail {
  raw: Buffer;
  recipients: readonly string[];
  remoteAddress: string | null;
}

/**
 * What the bounce receiver (an SMTP server: adapters/feedback/bounce-receiver.ts) needs from the
 * rest of Chapar: whom it takes mail for, and where a taken message goes. services/bounce-mail.ts
 * provides it; the receiver knows nothing of services or the database.
 */
export interface BounceMailSink {
  clock: Clock;
  logger: Logger;
  /** The domains mail is taken for now (the store's bounce domain can change while running). */
  domains(): Promise<string[]>;
  /** Whether `unsubscribe+<token>@` names a genuine unsubscribe token. */
  isUnsubscribeToken(token: string): boolean;
  /** Stores a message; throws only when storing failed (the sender is then told to retry). */
  take(mail: ReceivedMail): Promise<unknown>;
}
