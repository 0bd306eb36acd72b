import type { Db } from '../../db/database.ts';
import { insertCapturedMessage } from '../../db/queries/captured-messages.ts';
import type { Clock } from '../../lib/clock.ts';
import type { MailTransport, OutgoingMail, SendResult } from '../../ports/mail-transport.ts';

/**
 * The transport of a fresh installation: keeps every message in the database, where the API
 * lists and shows it, so nothing leaves the machine until a real transport is configured.
 */
export function createCaptureTransport(deps: { db: Db; clock: Clock }): MailTransport {
  return {
    name: 'capture',
    async send(mail: OutgoingMail): Promise<SendResult> {
      const id = await insertCapturedMessage(deps.db, {
        messageRef: mail.messageRef,
        envelopeFrom: mail.envelope.from,
        envelopeTo: mail.envelope.to,
        subject: mail.parts.subject,
        raw: mail.raw,
        createdAt: deps.clock.now(),
      });
      return { status: 'sent', providerMessageId: `capture-${id}`, response: '250 captured' };
    },
    async close() {},
  };
}
