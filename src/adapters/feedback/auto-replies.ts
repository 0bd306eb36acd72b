// Mail that reaches the bounce address but is no bounce: vacation notices, out-of-office replies,
// ticket-system acknowledgements. RFC 3834 asks responders to reply to the Return-Path (our VERP
// address) and to mark the reply `Auto-Submitted: auto-replied`; many do only part of that, so
// the older vendor headers and the usual subjects count too. Callers test for DSNs first:
// Postfix and others mark their bounces `Auto-Submitted: auto-replied` as well.

/** The headers and text an auto-reply is recognised by. */
export interface AutoReplySignals {
  header(name: string): string | null;
  subject: string | null;
  /** The start of the body text. */
  text: string;
}

const SUBJECT = new RegExp(
  [
    '^\\s*(auto(matic)?[ -]?(reply|response|answer)|auto:|autoreply|out of (the )?office|ooo\\b|abwesenheit|automatische antwort',
    'r[ée]ponse automatique|absence|risposta automatica|respuesta autom[aá]tica|fuera de la oficina|resposta autom[aá]tica',
    'automatisch antwoord|afwezig|autosvar|automatisk svar|fr[aå]nvaro|poza biurem|odpowied[zź] automatyczna|vacation|on vacation|on leave|away from)',
  ].join('|'),
  'i',
);

const BODY = /\b(i am|i'm|i will be|i'll be|i am currently|i'm currently|currently)\s+(out of (the )?office|on (annual |parental |maternity )?(vacation|holiday|leave)|away (from (the|my) (office|desk))?|travell?ing)\b|\bthis is an automatic (reply|response|message)\b|\bautomatic(ally)? (generated )?(reply|response)\b|\bwe have received your (message|email|request)\b.*\b(ticket|case)\b/is;

/** Why a message is an auto-reply (for the record), or null when it does not look like one. */
export function autoReplyEvidence(m: AutoReplySignals): string | null {
  const submitted = m.header('Auto-Submitted')?.toLowerCase().split(/[\s;]/)[0];
  if (submitted && submitted !== 'no') return `Auto-Submitted: ${submitted}`;
  if (/^(yes|true|1)/i.test(m.header('X-Autoreply') ?? '')) return 'X-Autoreply';
  if (m.header('X-Autorespond') !== null) return 'X-Autorespond';
  if (/auto[_-]?reply/i.test(m.header('Precedence') ?? '') || /auto[_-]?reply/i.test(m.header('X-Precedence') ?? '')) return 'Precedence: auto_reply';
  if (/autorespon|vacation/i.test(m.header('X-POST-MessageClass') ?? '') || m.header('X-Vacation') !== null) return 'vacation header';
  const subject = m.subject ?? '';
  if (SUBJECT.test(subject)) return `subject "${subject.slice(0, 60)}"`;
  if (BODY.test(m.text.slice(0, 4000))) return 'out-of-office wording';
  return null;
}
