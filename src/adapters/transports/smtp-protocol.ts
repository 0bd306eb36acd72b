// The shapes the SMTP client (smtp-client.ts) and its callers (smtp.ts, smtp-results.ts) share.

/** One SMTP session's settings (the pool in smtp.ts fills the defaults). */
export interface SmtpClientOptions {
  host: string;
  port: number;
  /** TLS from the first byte (port 465). */
  secure: boolean;
  starttls: 'require' | 'opportunistic';
  /** The EHLO name. */
  name: string;
  auth?: { user: string; pass: string };
  localAddress?: string;
  tls: { rejectUnauthorized: boolean; servername?: string; ca?: string };
  connectionTimeoutMs: number;
  /** Also the deadline of each TLS handshake. */
  greetingTimeoutMs: number;
  socketTimeoutMs: number;
}

/** A server reply: its code, the RFC 3463 status of its first line, its lines as received. */
export interface SmtpReply {
  code: number;
  enhanced: string | undefined;
  text: string;
}

/** The step a reply or a fault belongs to. */
export type SmtpStep = 'connect' | 'TLS' | 'greeting' | 'EHLO' | 'HELO' | 'STARTTLS' | 'AUTH' | 'MAIL FROM' | 'RCPT TO' | 'DATA' | 'end of DATA' | 'RSET' | 'idle';

/**
 * Why a session broke. `timeout`: no progress within the step's deadline; `network`: a socket
 * error, or the server closed the connection (`code` undefined); `tls`: the handshake or a
 * certificate failed; `reply`: the server refused a step of the session (greeting, EHLO and HELO,
 * STARTTLS under `require`, AUTH, RSET); `protocol`: what came back is not SMTP.
 */
export type SmtpFault =
  | { kind: 'timeout'; step: SmtpStep }
  | { kind: 'network'; step: SmtpStep; code: string | undefined; message: string }
  | { kind: 'tls'; step: SmtpStep; code: string | undefined; message: string }
  | { kind: 'reply'; step: SmtpStep; reply: SmtpReply }
  | { kind: 'protocol'; step: SmtpStep; message: string };

/**
 * What became of one message. `refused`: the server answered no (the connection stays usable);
 * `unsendable`: refused here before a byte left; `fault`: the session broke. `stale` says the
 * connection had served an earlier transaction and broke before any reply to this one (a server
 * that dropped an idle connection): nothing of this message reached it, so it may go again.
 */
export type SmtpOutcome =
  | { kind: 'accepted'; reply: SmtpReply }
  | { kind: 'refused'; step: 'MAIL FROM' | 'RCPT TO' | 'DATA' | 'end of DATA'; reply: SmtpReply }
  | { kind: 'unsendable'; reason: string }
  | { kind: 'fault'; fault: SmtpFault; stale: boolean };
