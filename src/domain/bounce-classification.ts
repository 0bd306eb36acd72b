import type { BounceClass, BounceReason, BounceVerdict } from './feedback.ts';

// Why a message came back, from what a DSN, a text bounce or an ESP says: the RFC 3463 enhanced
// status first (where it is specific), then the remote server's words, then the basic SMTP code.
// Servers put most refusals under a few generic codes (5.0.0, 5.5.0, 5.7.1), so for those the
// words decide. Pure: no I/O, no clock.

/** What a source knows about one failed or delayed recipient; any field may be missing. */
export interface BounceFacts {
  /** RFC 3463 enhanced status (`5.1.1`), e.g. a DSN's `Status:` field. */
  status?: string | null;
  /** The basic SMTP reply code (`550`). */
  smtpCode?: number | null;
  /** The remote server's reply or the reporting MTA's explanation. */
  diagnostic?: string | null;
  /** The DSN `Action:` (`failed`, `delayed`), when there is one. */
  action?: string | null;
}

/** Statuses whose meaning is specific enough to decide on their own (class digit dropped). */
const SPECIFIC: Record<string, BounceReason> = {
  '1.1': 'user_unknown',
  '1.3': 'user_unknown',
  '1.4': 'user_unknown',
  '1.6': 'user_unknown',
  '1.2': 'host_unknown',
  '4.4': 'host_unknown',
  '4.3': 'host_unknown',
  '2.2': 'mailbox_full',
  '3.1': 'mailbox_full',
  '2.3': 'message_too_large',
  '3.4': 'message_too_large',
  '4.7': 'expired',
  '4.5': 'rate_limited',
  // Our envelope sender refused: our configuration, not the recipient's address.
  '1.7': 'policy_block',
  '1.8': 'policy_block',
  // RFC 7372 authentication failures (DKIM, SPF, reverse DNS, several) and RFC 7505 null-MX sender.
  '7.20': 'reputation',
  '7.21': 'reputation',
  '7.22': 'reputation',
  '7.23': 'reputation',
  '7.24': 'reputation',
  '7.25': 'reputation',
  '7.26': 'reputation',
  '7.27': 'reputation',
};

/** When the words match nothing: what a generic status still says. */
const SUBJECT_DEFAULT: Record<string, BounceReason> = {
  // Mailbox disabled (Gmail's "account … is disabled"): treated as gone, as classifyRefusal does.
  '2.1': 'user_unknown',
  '1.10': 'host_unknown',
};

/** The remote server's words, tried in order; the first match wins. */
const PATTERNS: ReadonlyArray<readonly [BounceReason, RegExp]> = [
  // Greylisting is a plain "come back later", whatever status it is sent under.
  ['other', /greylist|graylist/],
  ['reputation', /spamhaus|spamcop|barracuda|sorbs|\bs?urbl\b|\bdnsbl\b|\brbl\b|block ?list|black ?list|(?<!not )listed (at|on|in|by)|reputation|\[bl\d+\]|(sender|client|your) ip .*(blocked|banned|listed)|banned sending ip|ptr record|reverse dns|\brdns\b|dmarc|\bspf\b|\bdkim\b|unauthenticated|not authenticated|authentication (check )?fail/],
  ['rate_limited', /rate limit|rate-limit|ratelimit|too many (messages|mails|emails|connections|concurrent|recipients|sessions)|at a rate that|unusual rate|throttl|\[tss?\d\d\]|sending rate|connection limit|slow down|temporarily deferred due to|exceeded the maximum number of connections/],
  ['expired', /retry timeout exceeded|message expired|delivery time expired|could not be delivered for \d+ days|too long in (the )?queue|retry time not reached for any host after a long failure period|message timed out|been delayed for more than|in the queue too long|max(imum)? (queue )?(age|lifetime)/],
  ['mailbox_full', /over ?quota|quota exceeded|exceeded (the )?(storage|quota)|exceeds? (the )?(user'?s? )?(storage|quota)|mailbox (is )?full|mailbox size limit|mailbox has exceeded|insufficient (system )?storage|out of storage|disk quota|mail ?folder is full|inbox is full|user is over/],
  ['message_too_large', /message size exceeds|size exceeds|message (is )?too (large|big)|message length exceeds|exceeds (the )?(maximum|max|fixed) (message )?size|maximum message size|size limit|message size limit|mail size/],
  ['host_unknown', /host (or domain name )?not found|host unknown|unknown host|domain not found|no such domain|domain (does not|doesn'?t) exist|unrouteable (mail )?domain|unrouteable address|name service error|nxdomain|null mx|no mx (record|host)|mx (record )?(not found|lookup failed)|no route to host|domain (name )?(is )?not (found|valid|exist)|illegal host\/domain/],
  ['user_unknown', /user unknown|unknown user|user not found|no such (user|mailbox|recipient|address|account|person)|unknown (recipient|local ?part|address|account|mailbox)|recipient (unknown|not found)|recipientnotfound|addressee unknown|mailbox (unavailable|not found|does not exist|doesn'?t exist|is disabled|disabled)|(account|address|user|mailbox) (does not|doesn'?t) exist|does not exist|doesn'?t have an? \S+ account|invalid (recipient|mailbox|address)|not our customer|no mailbox here|account (has been )?(disabled|closed|deactivated|deleted|terminated|expired)|account is (disabled|inactive|unavailable)|is disabled|no longer (valid|available|active|in use)|user (is )?(inactive|terminated|suspended)|bad destination mailbox|not listed in (the )?(public name|domino directory|address book)|recipient address rejected: access denied/],
  ['policy_block', /spam|unsolicited|junk|blocked|block(ed)? by|policy|prohibited|not (allowed|permitted|accepted)|rejected (for|due to)|content (was )?rejected|virus|malware|phish|relay(ing)? (access )?denied|access denied|denied|refused|\bbanned\b/],
];

/** Classifies one failed or delayed recipient into a reason and a hard/soft/none class. */
export function classifyBounce(facts: BounceFacts): BounceVerdict {
  // What a server says fits in a few lines; a longer text is cut so matching stays cheap.
  const diagnostic = cleanText(facts.diagnostic?.slice(0, 4000));
  const words = diagnostic?.toLowerCase() ?? '';
  const status = pickStatus(facts.status, words);
  const smtpCode = facts.smtpCode ?? replyCodeIn(words);
  const action = facts.action?.trim().toLowerCase() ?? null;
  let reason = reasonOf(status, smtpCode, words);
  const temporary = status ? status.startsWith('4.') : smtpCode !== null ? smtpCode < 500 : action === 'delayed';
  // A DSN that gave up (`failed`) with a 4.x.x status is a message that expired in the queue
  // (RFC 3464 §2.3.3); the last temporary error is more telling only when it names the address.
  if (action === 'failed' && temporary && !['user_unknown', 'host_unknown', 'mailbox_full', 'message_too_large'].includes(reason)) reason = 'expired';
  // A delay notice is not an expiry, even under 4.4.7 (Exchange's "Message delayed").
  if (action === 'delayed' && reason === 'expired') reason = 'other';
  return { reason, class: classOf(reason, temporary || action === 'delayed'), status, diagnostic };
}

/** Hard only for an address that is gone for good; policy and reputation are ours to fix, not the recipient's. */
export function classOf(reason: BounceReason, temporary: boolean): BounceClass {
  switch (reason) {
    case 'user_unknown':
    case 'host_unknown':
      return temporary ? 'soft' : 'hard';
    case 'policy_block':
    case 'reputation':
    case 'auto_reply':
      return 'none';
    case 'mailbox_full':
    case 'message_too_large':
    case 'rate_limited':
    case 'expired':
    case 'other':
      return 'soft';
  }
}

function reasonOf(status: string | null, smtpCode: number | null, words: string): BounceReason {
  const detail = status ? status.slice(2) : null;
  if (detail && SPECIFIC[detail]) return SPECIFIC[detail];
  const fromWords = PATTERNS.find(([reason, re]) => allowedFor(detail, reason) && re.test(words))?.[0];
  if (fromWords) return fromWords;
  if (detail && SUBJECT_DEFAULT[detail]) return SUBJECT_DEFAULT[detail];
  // 5.7.x is security or policy (RFC 3463 §3.8), consistent with classifyRefusal.
  if (detail?.startsWith('7.')) return 'policy_block';
  // Only an undefined status (x.0.0, x.1.0 "other address status") leaves it to the basic code.
  if (detail && detail !== '0.0' && detail !== '1.0') return 'other';
  switch (smtpCode) {
    case 550:
    case 551:
    case 553:
      return 'user_unknown';
    case 552:
      return 'mailbox_full';
    case 554:
      return 'policy_block';
    default:
      return 'other';
  }
}

/** A security/policy status (x.7.x) never turns into a gone address, however the words read. */
function allowedFor(detail: string | null, reason: BounceReason): boolean {
  if (!detail?.startsWith('7.')) return true;
  return reason === 'reputation' || reason === 'rate_limited' || reason === 'policy_block' || reason === 'message_too_large' || reason === 'other';
}

/**
 * The enhanced status to go by: the given one unless it is generic (x.0.0) and the diagnostic
 * names a specific one (Exim and Exchange put `5.0.0` in the DSN and `550 5.1.1` in the text).
 */
function pickStatus(given: string | null | undefined, words: string): string | null {
  const clean = given?.trim().match(/^([245])\.(\d{1,3})\.(\d{1,3})/);
  const own = clean ? `${clean[1]}.${Number(clean[2])}.${Number(clean[3])}` : null;
  const inText = /(?:^|[\s(\[#-])([245])\.(\d{1,3})\.(\d{1,3})(?=[\s)\],;:.>]|$)/.exec(words);
  const textual = inText ? `${inText[1]}.${Number(inText[2])}.${Number(inText[3])}` : null;
  if (own && !own.endsWith('.0.0')) return own;
  if (textual && (!own || own[0] === textual[0])) return textual;
  return own;
}

function replyCodeIn(words: string): number | null {
  const m = /(?:^|[\s:;(])([245]\d\d)(?:[\s-]|$)/.exec(words);
  return m ? Number(m[1]) : null;
}

function cleanText(text: string | null | undefined): string | null {
  const t = text?.replace(/\s+/g, ' ').trim();
  return t ? t : null;
}
