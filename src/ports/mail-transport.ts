/** The parts of a message, for APIs that build the MIME themselves (SendGrid v3 takes JSON, not MIME). */
export interface MailParts {
  messageId: string;
  from: { name: string; address: string };
  replyTo: string | null;
  to: string;
  subject: string;
  /** The bodies, filled only when the route has a transport that builds its own MIME (SendGrid); else empty. */
  html: string;
  text: string;
  /** Extra headers in order (List-Unsubscribe, List-Unsubscribe-Post, Feedback-ID…), values as on the wire. */
  headers: [string, string][];
}

/** One message ready for the wire: the signed MIME, its envelope, and what an ESP may tag it with. */
export interface OutgoingMail {
  /** Our id of the message (also inside the VERP envelope sender); ESPs get it as a tag/custom arg. */
  messageRef: string;
  envelope: { from: string; to: string };
  /** The complete RFC 5322 message, DKIM-signed when keys exist for the From domain. */
  raw: Buffer;
  stream: 'marketing' | 'transactional';
  parts: MailParts;
  /** Short key/value labels (campaign, template, flow) for the provider's tags; values [A-Za-z0-9_-]. */
  tags: Record<string, string>;
}

/**
 * What a transport reports for one message. A recipient's or provider's refusal is a result, not an
 * exception: `deferred` is worth retrying (network error, SMTP 4xx, HTTP 429/5xx), `failed` is not.
 * `code`/`enhanced` carry the SMTP reply (or HTTP status in `code`) so the delivery service can tell
 * a hard bounce (5.1.x) from a full mailbox (5.2.2) from a policy block (5.7.x) — see domain/bounces.
 */
export type SendResult =
  | { status: 'sent'; providerMessageId: string | null; response: string }
  | { status: 'deferred'; response: string; code?: number; enhanced?: string; retryAfterMs?: number }
  | { status: 'failed'; response: string; code?: number; enhanced?: string };

/** The mail transport port: SMTP, an ESP's API, or capture. One file per adapter under adapters/transports. */
export interface MailTransport {
  readonly name: string;
  send(mail: OutgoingMail): Promise<SendResult>;
  close(): Promise<void>;
}

/** Builds the adapter for a configured transport; throws config_invalid naming a bad setting. */
export type TransportFactory = (def: import('../domain/transports.ts').TransportDefinition) => MailTransport;
