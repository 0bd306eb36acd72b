import type { Requester, TrackingRecorder } from '../../services/tracking.ts';
import { invalidLinkPage, pageHeaders } from './pages.ts';

// What the click (/c) and open-pixel (/o) endpoints answer, as plain status, headers and body, so
// the Fastify routes (links.ts) and the fast path in front of Fastify (tracking-fast-path.ts)
// answer exactly alike.

/** A complete answer to one request. */
export interface Answer {
  status: number;
  /** A fresh object for every answer: the fast path adds content-length to it in place. */
  headers: Record<string, string>;
  body: string | Buffer;
}

// A transparent 1×1 GIF: the open pixel.
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** The page for a link that is not (or no longer) genuine. */
export function invalidLinkAnswer(): Answer {
  return { status: 404, headers: pageHeaders(), body: invalidLinkPage() };
}

/** The answer once a client has used up its requests for the minute. */
export function tooManyRequestsAnswer(): Answer {
  return { status: 429, headers: { 'retry-after': '60', 'content-type': 'text/plain' }, body: 'Too many requests; try again in a minute.' };
}

/**
 * A click on a tracked link: recorded (unless `record` is false) and redirected to its
 * destination, or the invalid-link page for a forged one.
 */
export function clickAnswer(tracking: TrackingRecorder, p: { contactId: string; ref: string; url: string; sig: string }, who: Requester, record = true): Answer {
  const target = tracking.click(p, who, record);
  if (!target) return invalidLinkAnswer();
  return { status: 302, headers: { location: headerSafeUrl(target), 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }, body: '' };
}

/** An open-pixel load: recorded when genuine; always the pixel, since a broken image in the reader's mail helps no one. */
export function openAnswer(tracking: TrackingRecorder, p: { contactId: string; ref: string; sig: string }, who: Requester, record = true): Answer {
  tracking.open({ contactId: p.contactId, ref: p.ref, sig: p.sig.endsWith('.gif') ? p.sig.slice(0, -4) : p.sig }, who, record);
  return { status: 200, headers: { 'content-type': 'image/gif', 'cache-control': 'no-store, max-age=0' }, body: PIXEL };
}

/**
 * A signed destination as a Location header may carry it: a link written with non-ASCII text
 * (a Persian path, an IDN host) is percent-encoded and punycoded as browsers would, since Node
 * refuses such characters in a header.
 */
function headerSafeUrl(url: string): string {
  return /^[\x21-\x7e]*$/.test(url) ? url : new URL(url).href;
}
