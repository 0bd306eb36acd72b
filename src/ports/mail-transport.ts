/** One message ready for the wire: the signed MIME and its envelope. */
export interface OutgoingMail {
  messageRef: string;
  envelope: { from: string; to: string };
  raw: Buffer;
  subject: string;
}

/** What a transport reports for one message; errors that are the recipient's are results, not exceptions. */
export type SendResult =
  | { status: 'sent'; providerMessageId: string | null; response: string }
  | { status: 'deferred'; response: string; retryAfterMs?: number }
  | { status: 'failed'; response: string; permanent: boolean };

/** The mail transport port: SMTP, an ESP's API, or capture. One file per adapter. */
export interface MailTransport {
  readonly name: string;
  send(mail: OutgoingMail): Promise<SendResult>;
  close(): Promise<void>;
}
