// Postfix's mail.log, one line at a time, into the few records the feedback loop needs. Pure:
// never throws, never logs; anything it does not recognise is `other` (most of a mail.log is).
// Line grammar: formats.md §5.1 (Postfix's log_adhoc.c and msg_logger.c).

/** What a delivery agent said of one recipient. `softbounce` is a bounce turned into a deferral by `soft_bounce = yes`. */
export type DeliveryStatus = 'sent' | 'deferred' | 'bounced' | 'softbounce' | 'deliverable' | 'undeliverable';

/** What every recognised line carries: when, which host and program wrote it, and the queue id. */
export interface MaillogHead {
  /** Milliseconds since the epoch. */
  at: number;
  host: string;
  /** The syslog tag without the pid, e.g. `postfix/smtp`, `postfix/submission/smtpd`. */
  program: string;
  queueId: string;
}

/** One parsed line. */
export type MaillogLine =
  | (MaillogHead & { kind: 'message_id'; messageId: string })
  | (MaillogHead & {
      kind: 'delivery';
      to: string;
      origTo: string | null;
      relay: string | null;
      dsn: string | null;
      status: DeliveryStatus;
      /** The text in parentheses after the status: the remote server's reply or Postfix's own words. */
      reason: string;
      /** Every `key=value` field between `to=` and `status=`, known or not (`delay`, `conn_use`, `tls`, …). */
      fields: Record<string, string>;
    })
  | (MaillogHead & { kind: 'expired'; from: string; forced: boolean })
  | (MaillogHead & { kind: 'removed' })
  | { kind: 'other' };

/** What the parser needs from outside: the date, for the year classic syslog lines leave out. */
export interface MaillogParseOptions {
  now: number;
  /** The zone of timestamps that carry none (classic syslog, Postfix's maillog_file): this machine's, or UTC. */
  zone: 'local' | 'utc';
}

const OTHER: MaillogLine = { kind: 'other' };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// rsyslog's RFC 3339 template and `journalctl -o short-iso(-precise)`.
const ISO_PREFIX = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)? +/;
// Classic BSD syslog (`Jan  5 …`) and Postfix's maillog_file (`Jan 05 …`), sometimes with fractions.
const CLASSIC_PREFIX = /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? +/;
// `host program[pid]: message`; the program may be any syslog_name (`postfix-out/smtp`, `postfix/submission/smtpd`).
const TAG = /^(\S+) ([^\s[\]]+)\[\d+\]: (.*)$/;
// Short (hex) and long (`enable_long_queue_ids`) queue ids; NOQUEUE is what smtpd logs before there is one.
const QUEUE_ID = /^([0-9A-Za-z]{5,20}): (.*)$/;
const EXPIRED = /^from=<(.*?)>, (?:.*, )?status=(force-)?expired\b/;

/** Parses one mail.log line (without its newline). Never throws. */
export function parseMaillogLine(line: string, opts: MaillogParseOptions): MaillogLine {
  if (line.length > 20_000) return OTHER;
  const stamped = parseTimestamp(line, opts);
  if (!stamped) return OTHER;
  const tag = TAG.exec(line.slice(stamped.length));
  if (!tag) return OTHER;
  const q = QUEUE_ID.exec(tag[3]!);
  if (!q || q[1] === 'NOQUEUE') return OTHER;
  const head: MaillogHead = { at: stamped.at, host: tag[1]!, program: tag[2]!, queueId: q[1]! };
  const body = q[2]!;

  if (body.startsWith('message-id=')) {
    const messageId = body.slice('message-id='.length).trim();
    return messageId ? { ...head, kind: 'message_id', messageId } : OTHER;
  }
  if (body === 'removed') return { ...head, kind: 'removed' };
  if (body.startsWith('to=<')) return parseDelivery(head, body);
  const expired = EXPIRED.exec(body);
  if (expired) return { ...head, kind: 'expired', from: expired[1]!, forced: expired[2] !== undefined };
  return OTHER;
}

// `to=<rcpt>[, orig_to=<addr>], relay=…[, conn_use=N], delay=…, delays=…[, tls=…], dsn=X.Y.Z, status=word (reason)`.
// Scanned field by field rather than with one pattern, so that new or reordered fields are kept, not fatal.
function parseDelivery(head: MaillogHead, body: string): MaillogLine {
  const fields: Record<string, string> = {};
  let pos = 0;
  for (;;) {
    const key = /^([a-z_]+)=/.exec(body.slice(pos, pos + 40));
    if (!key) return OTHER;
    pos += key[0].length;
    if (key[1] === 'status') break;
    let end: number;
    if (body[pos] === '<') {
      // An address: it ends at the `>` a field separator follows (a quoted local part may hold `, `).
      end = pos;
      do end = body.indexOf('>', end + 1);
      while (end !== -1 && end + 1 < body.length && body[end + 1] !== ',');
      if (end === -1) return OTHER;
      fields[key[1]!] = body.slice(pos + 1, end);
      end += 1;
    } else {
      end = body.indexOf(', ', pos);
      if (end === -1) return OTHER;
      fields[key[1]!] = body.slice(pos, end);
    }
    if (body.slice(end, end + 2) !== ', ') return OTHER;
    pos = end + 2;
  }
  const tail = /^([A-Za-z-]+)(?: \((.*)\))?\s*$/.exec(body.slice(pos));
  const status = tail ? toStatus(tail[1]!) : null;
  const to = fields.to;
  if (!tail || !status || to === undefined) return OTHER;
  return {
    ...head,
    kind: 'delivery',
    to,
    origTo: fields.orig_to ?? null,
    relay: fields.relay ?? null,
    dsn: fields.dsn ?? null,
    status,
    reason: tail[2] ?? '',
    fields,
  };
}

function toStatus(word: string): DeliveryStatus | null {
  const s = word.toLowerCase();
  return s === 'sent' || s === 'deferred' || s === 'bounced' || s === 'softbounce' || s === 'deliverable' || s === 'undeliverable' ? s : null;
}

function parseTimestamp(line: string, opts: MaillogParseOptions): { at: number; length: number } | null {
  const iso = ISO_PREFIX.exec(line);
  if (iso) {
    const [, y, mo, d, h, mi, s, frac, zone] = iso;
    const ms = fractionMs(frac);
    const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms] as const;
    const civil = civilToEpoch(fields, zone ? 'utc' : opts.zone);
    return civil === null ? null : { at: zone ? civil - zoneOffsetMs(zone) : civil, length: iso[0].length };
  }
  const classic = CLASSIC_PREFIX.exec(line);
  if (!classic) return null;
  const [, mon, d, h, mi, s, frac] = classic;
  const at = inferYear(MONTHS.indexOf(mon!), Number(d), Number(h), Number(mi), Number(s), fractionMs(frac), opts);
  return at === null ? null : { at, length: classic[0].length };
}

// Classic timestamps have no year. The line was written in the past, so take the latest year that
// does not put it more than two days ahead of now: on 2 January "Dec 31" is last year, and on
// 31 December a "Jan 1" line from a clock slightly ahead is next year.
function inferYear(month: number, day: number, h: number, mi: number, s: number, ms: number, opts: MaillogParseOptions): number | null {
  const nowYear = opts.zone === 'utc' ? new Date(opts.now).getUTCFullYear() : new Date(opts.now).getFullYear();
  const limit = opts.now + 2 * 24 * 3600_000;
  for (const year of [nowYear + 1, nowYear, nowYear - 1]) {
    const at = civilToEpoch([year, month, day, h, mi, s, ms], opts.zone);
    if (at !== null && at <= limit) return at;
  }
  return null;
}

// A calendar date and time as epoch milliseconds, or null when it does not exist (Feb 30, 25:00).
function civilToEpoch([y, mo, d, h, mi, s, ms]: readonly [number, number, number, number, number, number, number], zone: 'local' | 'utc'): number | null {
  if (mo < 0 || mo > 11 || h > 23 || mi > 59 || s > 60) return null;
  const date = zone === 'utc' ? new Date(Date.UTC(y, mo, d, h, mi, Math.min(s, 59), ms)) : new Date(y, mo, d, h, mi, Math.min(s, 59), ms);
  const day = zone === 'utc' ? date.getUTCDate() : date.getDate();
  return day === d ? date.getTime() : null;
}

function fractionMs(frac: string | undefined): number {
  return frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
}

function zoneOffsetMs(zone: string): number {
  if (zone === 'Z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return (m[1] === '-' ? -1 : 1) * minutes * 60_000;
}
