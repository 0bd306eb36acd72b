import type { Clock } from '../../lib/clock.ts';
import type { SendResult } from '../../ports/mail-transport.ts';

/** What one HTTP request to a provider gave: an answer (any status), or none at all. */
export type ProviderExchange =
  | { kind: 'answered'; status: number; headers: Headers; body: string }
  | { kind: 'unanswered'; reason: string };

/** How an ESP adapter reads its provider's answers; the status mapping itself is shared. */
export interface ProviderReading {
  /** Shown first in every response text, e.g. `mailgun`. */
  provider: string;
  /** The provider's id of an accepted message, or null when the answer does not carry one. */
  messageIdOf(answer: { headers: Headers; body: string }): string | null;
  /** The provider's own words about a refusal (its error JSON, flattened), or null. */
  errorOf(answer: { headers: Headers; body: string }): string | null;
  /**
   * A refusal that an operator must fix (a paused account, an unverified sending domain) rather
   * than a bad message: kept for retry like 401/403 instead of failing the message for good.
   */
  needsOperator?(answer: { status: number; headers: Headers; body: string }): boolean;
  /** Values that must never appear in a response text (API key, Authorization header value). */
  secrets: string[];
}

const MAX_TEXT = 500;

/**
 * POSTs to a provider with a deadline, and turns what happens into data: network errors and
 * timeouts become `unanswered` instead of exceptions. Redirects are not followed (they would
 * carry credentials to another host); a 3xx is an answer like any other.
 */
export async function exchangeWithProvider(url: string, init: { method: string; headers: Record<string, string>; body: string | FormData }, timeoutMs: number): Promise<ProviderExchange> {
  try {
    const res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    // The body is read under the same deadline: a provider that stalls mid-answer is unanswered.
    const body = await res.text();
    return { kind: 'answered', status: res.status, headers: res.headers, body };
  } catch (err) {
    return { kind: 'unanswered', reason: describeFetchError(err, timeoutMs) };
  }
}

/**
 * Maps one exchange to a SendResult, the same way for every ESP: 2xx sent; 429, 5xx and no answer
 * deferred (with Retry-After when given); 401/403, 404 and the provider's own account-level refusals
 * deferred with a plea to an operator, since the message itself is fine; any other 4xx failed with
 * the provider's message.
 */
export function sendResultOf(exchange: ProviderExchange, reading: ProviderReading, clock: Clock): SendResult {
  const say = (text: string) => redact(`${reading.provider}: ${text}`, reading.secrets).slice(0, MAX_TEXT);
  if (exchange.kind === 'unanswered') return { status: 'deferred', response: say(`no answer (${exchange.reason})`) };

  const { status } = exchange;
  const error = () => reading.errorOf(exchange) ?? (oneLine(exchange.body) || 'no details');
  if (status >= 200 && status < 300) {
    return { status: 'sent', providerMessageId: reading.messageIdOf(exchange), response: say(`${status} accepted`) };
  }
  if (status === 401 || status === 403) {
    return { status: 'deferred', code: status, response: say(`${status} not authorised, an operator must fix the API key, its permissions or the account (${error()})`) };
  }
  if (status === 429 || status >= 500 || status === 408) {
    const retryAfterMs = retryAfterMsOf(exchange.headers.get('retry-after'), clock.now());
    return { status: 'deferred', code: status, response: say(`${status} ${error()}`), ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  // Every adapter posts to one fixed endpoint: a 404 means a wrong domain, region or base URL.
  if (status === 404 || (status >= 400 && reading.needsOperator?.(exchange))) {
    return { status: 'deferred', code: status, response: say(`${status} refused for the account, not the message, an operator must act (${error()})`) };
  }
  if (status >= 400) return { status: 'failed', code: status, response: say(`${status} ${error()}`) };
  // 1xx/3xx: the base URL points somewhere that is not the provider's API; retry once it is fixed.
  return { status: 'deferred', code: status, response: say(`${status} unexpected answer, check the transport's base URL`) };
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMsOf(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Reads a JSON body, or undefined when it is not JSON (providers answer HTML or text on some errors). */
export function parseJsonBody(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/** Replaces every occurrence of each secret; short values are skipped (they would redact noise). */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 6) out = out.split(s).join('[redacted]');
  return out;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 200);
}

// Node's fetch throws TypeError('fetch failed') with the socket error as `cause`. The cause's
// code (ECONNREFUSED…) says enough; its message only when there is no code (base URLs cannot hold
// credentials, and the caller redacts the secrets from every text anyway).
function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e?.name === 'AbortError') return 'request aborted';
  const detail = e?.cause?.code ?? e?.cause?.message;
  return detail ? `network error ${detail}` : 'network error';
}
