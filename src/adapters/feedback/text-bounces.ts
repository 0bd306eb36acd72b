import { firstAddressIn } from './header-fields.ts';

// Bounces without a machine-readable part: qmail ("Hi. This is the qmail-send program"), Exim's
// plain "Mail delivery failed", old Sendmail and Exchange reports, Yahoo's legacy notices. They
// name each failed address on a line of its own, followed by the remote server's words, and end
// with a copy of the original message (or its headers) after a marker line.

/** One failed address of a text bounce and the words under it. */
export interface TextBounceRecipient {
  recipient: string;
  diagnostic: string | null;
}

/** What could be read from a text bounce. */
export interface TextBounce {
  /** A delay warning ("will keep trying"), not a failure. */
  delayed: boolean;
  recipients: TextBounceRecipient[];
  /** The header block of the returned copy of the original message, when the text has one. */
  returnedHeaders: string | null;
}

/** Where the returned copy starts (Exim, qmail, Sendmail, Exchange and Gmail markers). */
const COPY_MARKER = /^\s*-{2,}\s*(below this line is a copy of the message|this is a copy of the message|original message|unsent message follows|returned mail follows|returned message|the header of the original message|message headers? follows?|original message headers?|headers of the original message)|^\s*original message headers:?\s*$/i;

/** A line that names one failed address, in the styles of the MTAs above. */
const RECIPIENT_LINE = [
  /^\s*<([^<>\s]+@[^<>\s]+)>\s*:?\s*$/, // qmail `<a@b>:`, Sendmail `<a@b>`
  /^\s*<([^<>\s]+@[^<>\s]+)>\.\.\.\s*(.*)$/, // Sendmail `<a@b>... User unknown`
  /^<([^<>\s]+@[^<>\s]+)>(?: \(expanded from <[^<>]*>\))?:\s+(.+)$/, // Postfix `<a@b>: host x said: 550 …`
  /^\s*'?([^\s<>'"@]+@[^\s<>'":]+[A-Za-z0-9])'?\s+on\s+\d.*$/, // Exchange 2003 `'a@b' on 11/27/2026 10:02`
  /^\s*([^\s<>'"@:]+@[^\s<>'":]+[A-Za-z0-9])\s*:?\s*$/, // Exim and Gmail: the address alone, indented
];

const PERMANENT = /permanent (error|fatal)|failed permanently|could not be delivered to one or more|have been rejected|delivery has failed|failed to deliver|wasn't able to deliver|was not delivered|could not be delivered/i;
const DELAYED = /has not yet been delivered|not been delivered yet|will (continue|keep) (trying|to try)|still trying|transient non-fatal|could not send message for past|delivery (has been |is )?delayed|delayed \d+ (hours|minutes|days)|this is only a warning|no action is required on your part|\bdelayed mail\b|\(delay\)/i;

/** True when the sender, subject or opening words say this is a delivery report written as text. */
export function looksLikeTextBounce(m: { from: string | null; subject: string | null; text: string }): boolean {
  if (/mailer-daemon|postmaster|mail ?delivery (sub)?system|mdaemon|mailer\b/i.test(m.from ?? '')) return true;
  if (/undeliver|delivery (status notification|failure|failed|has failed|problem|report|notification)|mail delivery failed|failure notice|returned mail|non-?delivery|could ?n[o']t be delivered|not delivered|delayed mail|warning: could not send|nondeliverable|delivery incomplete/i.test(m.subject ?? '')) return true;
  return /hi\. this is the qmail-send program|this message was created automatically by mail delivery software|the original message was received at|your message did not reach some or all of the intended recipients/i.test(m.text.slice(0, 2000));
}

/**
 * Reads the failed addresses and their diagnostics. `ignore` names addresses that are not
 * recipients (ours, the reporting postmaster). Only the text before the returned copy is read.
 */
export function readTextBounce(text: string, subject: string | null, ignore: (address: string) => boolean): TextBounce {
  const lines = text.slice(0, 256 * 1024).split(/\r?\n|\r/);
  const cut = lines.findIndex((l) => COPY_MARKER.test(l));
  const report = cut >= 0 ? lines.slice(0, cut) : untilHeaders(lines);
  const returnedHeaders = cut >= 0 ? headerBlockAfter(lines, cut + 1) : headerBlockAfter(lines, report.length);

  const recipients: TextBounceRecipient[] = [];
  let current: { recipient: string; words: string[] } | null = null;
  const close = () => {
    if (!current) return;
    const words = current.words.join(' ').replace(/\s+/g, ' ').trim().slice(0, 1000);
    const seen = recipients.find((r) => r.recipient.toLowerCase() === current!.recipient.toLowerCase());
    if (seen) seen.diagnostic ??= words || null;
    else recipients.push({ recipient: current.recipient, diagnostic: words || null });
    current = null;
  };
  for (const line of report) {
    const named = recipientOf(line, ignore);
    if (named) {
      close();
      current = { recipient: named.address, words: named.rest ? [named.rest] : [] };
    } else if (/^\s*-{3,}/.test(line)) {
      close();
    } else if (current && line.trim() !== '') {
      current.words.push(line.trim());
    }
  }
  close();
  // Sendmail names the address alone and gives the reply in the transcript (`<<< 550 5.1.1 <a@b>... User unknown`).
  for (const r of recipients) {
    if (r.diagnostic) continue;
    const said = report.find((l) => l.includes(r.recipient) && /(^|\s)[45]\d\d[\s-]/.test(l) && !/^\s*>>>/.test(l));
    if (said) r.diagnostic = said.replace(/^\s*<<<\s*/, '').trim();
  }

  const head = `${subject ?? ''}\n${report.join('\n')}`;
  if (recipients.length === 0) {
    // Prose only ("Your message to jane@example.net couldn't be delivered"): the first address that is not ours.
    const prose = report.join(' ');
    for (const m of prose.matchAll(/[^\s<>'"(),;:[\]]{1,64}@[A-Za-z0-9.-]{1,253}[A-Za-z0-9]/g)) {
      const a = firstAddressIn(m[0]);
      if (a && !ignore(a)) {
        recipients.push({ recipient: a, diagnostic: prose.replace(/\s+/g, ' ').trim().slice(0, 1000) || null });
        break;
      }
    }
  }
  return { delayed: DELAYED.test(head) && !PERMANENT.test(head), recipients, returnedHeaders };
}

function recipientOf(line: string, ignore: (address: string) => boolean): { address: string; rest: string | null } | null {
  for (const re of RECIPIENT_LINE) {
    const m = re.exec(line);
    if (!m) continue;
    const address = firstAddressIn(`<${m[1]!}>`);
    if (!address || ignore(address)) return null;
    return { address, rest: m[2]?.trim() || null };
  }
  return null;
}

/** Without a marker, the report ends where a header block (Return-Path:, Received:) starts after a blank line. */
function untilHeaders(lines: string[]): string[] {
  for (let i = 1; i < lines.length; i++) {
    if (lines[i - 1]!.trim() === '' && /^(Return-Path|Received|Message-ID|From|Date):\s/i.test(lines[i]!)) return lines.slice(0, i);
  }
  return lines;
}

function headerBlockAfter(lines: string[], start: number): string | null {
  let i = start;
  while (i < lines.length && lines[i]!.trim() === '') i++;
  if (i >= lines.length || !/^[!-9;-~]+:/.test(lines[i]!)) return null;
  const block: string[] = [];
  for (; i < lines.length && lines[i]!.trim() !== '' && block.length < 400; i++) block.push(lines[i]!);
  return block.join('\n');
}
