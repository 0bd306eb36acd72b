import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { Logger } from 'pino';
import type { RateLimiter } from '../../lib/rate-limiter.ts';
import type { Requester, TrackingRecorder } from '../../services/tracking.ts';
import { clickAnswer, openAnswer, tooManyRequestsAnswer, type Answer } from './tracking-answers.ts';

// Opens and clicks are what a campaign's readers hit by the hundred thousand in its first hour, and
// Fastify's own work per request (request and reply objects, a child logger, hooks, routing) costs
// more than recording the hit: Chapar's /health ran at 33–65% of a bare Fastify route, the click
// at 26–48% (bench:events). So GET requests in exactly the shape of /c/… and /o/… are answered
// here, on the HTTP server Fastify listens with, before Fastify sees them. Everything else (HEAD,
// percent-escapes, a missing or extra segment, a server that is closing) goes on to Fastify's own
// routes (links.ts), which answer the same way through the same functions (tracking-answers.ts)
// and the same per-IP limiter.

export interface TrackingFastPathDeps {
  tracking: TrackingRecorder;
  /** The public links' per-IP limiter (shared with the Fastify routes). */
  perIp: RateLimiter;
  /** Whose X-Forwarded-For to believe, as Fastify's trustProxy (config.trustProxy). */
  trustProxy: string | false;
  logger: Logger;
}

/** Answers a request if it is a click or pixel; returns false to leave it to Fastify. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createTrackingFastPath(deps: TrackingFastPathDeps): FastPath & { close(): void } {
  // The same trust function Fastify builds from the same setting, so `ip` is Fastify's request.ip;
  // its answer for an address is remembered (it parses the address each time, ~1.5 µs a click, and
  // the addresses it is asked about are the few of the proxies in front). A list of addresses and
  // ranges gives the same answer at every hop; the memory is bounded against forged chains.
  const trust = deps.trustProxy === false ? null : memoTrust(proxyAddr.compile(deps.trustProxy.split(',').map((s) => s.trim())));
  let closing = false;
  const fast = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url;
    // '/c/' or '/o/', GET only; Fastify answers a closing server's requests with 503.
    if (closing || req.method !== 'GET' || url === undefined || url.charCodeAt(0) !== 0x2f || url.charCodeAt(2) !== 0x2f) return false;
    const kind = url.charCodeAt(1);
    if (kind !== 0x63 && kind !== 0x6f) return false;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    // ['', 'c', contact, ref, url, sig] or ['', 'o', contact, ref, sig]
    const parts = segmentsOf(path, kind === 0x63 ? 6 : 5);
    if (!parts) return false;
    try {
      const ip = (trust ? proxyAddr(req, trust) : req.socket.remoteAddress) ?? null;
      let answer: Answer;
      if (ip !== null && !deps.perIp.take(ip)) answer = tooManyRequestsAnswer();
      else {
        const ua = req.headers['user-agent'];
        const who: Requester = { ip, userAgent: typeof ua === 'string' ? ua : null };
        answer = kind === 0x63 ? clickAnswer(deps.tracking, { contactId: parts[2]!, ref: parts[3]!, url: parts[4]!, sig: parts[5]! }, who) : openAnswer(deps.tracking, { contactId: parts[2]!, ref: parts[3]!, sig: parts[4]! }, who);
      }
      // Every answer's headers are a fresh object (Answer): they take the length without a copy.
      answer.headers['content-length'] = String(Buffer.byteLength(answer.body));
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } catch (err) {
      deps.logger.error({ err, path: `/${String.fromCharCode(kind)}/…` }, 'tracking request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal error');
    }
    return true;
  };
  return Object.assign(fast, { close: () => { closing = true; } });
}

/**
 * The `/`-separated segments of a path when there are exactly `count` of them (the first empty,
 * the others not) and none is percent-escaped; otherwise null (Fastify's routes decide).
 */
function segmentsOf(path: string, count: number): string[] | null {
  const parts: string[] = [''];
  let from = 1;
  for (let i = 1; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : 0x2f;
    if (c === 0x25) return null; // '%'
    if (c !== 0x2f) continue;
    if (i === from || parts.length === count) return null;
    parts.push(path.slice(from, i));
    from = i + 1;
  }
  return parts.length === count ? parts : null;
}

type Trust = (addr: string, i: number) => boolean;

function memoTrust(trust: Trust): Trust {
  const known = new Map<string, boolean>();
  return (addr, i) => {
    let yes = known.get(addr);
    if (yes === undefined) {
      yes = trust(addr, i);
      if (known.size >= 1024) known.clear();
      known.set(addr, yes);
    }
    return yes;
  };
}
