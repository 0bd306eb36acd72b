import type { OutgoingMail } from '../../ports/mail-transport.ts';

/**
 * The label under which every ESP carries our message ref (Mailgun `v:` variable, SendGrid
 * custom arg, SES email tag); the feedback webhooks read it back to find the message.
 */
export const MESSAGE_REF_LABEL = 'chapar_message_ref';

/** The mail's tags plus its message ref, which wins over a tag of the same name. */
export function labelsOf(mail: OutgoingMail): Record<string, string> {
  return { ...mail.tags, [MESSAGE_REF_LABEL]: mail.messageRef };
}
