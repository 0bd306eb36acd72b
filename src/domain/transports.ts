import type { ErrorDetail } from '../lib/errors.ts';

/** The kinds of transport Chapar can hand mail to. `capture` keeps it in the database instead. */
export const TRANSPORT_KINDS = ['smtp', 'mailgun', 'sendgrid', 'ses', 'capture'] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

/** Which settings of each kind are secrets: sealed at rest, never shown or logged. */
export const SECRET_FIELDS: Record<TransportKind, readonly string[]> = {
  smtp: ['password'],
  // webhookSigningKey: Mailgun's HTTP webhook signing key, which checks its event webhooks.
  mailgun: ['apiKey', 'webhookSigningKey'],
  sendgrid: ['apiKey'],
  ses: ['secretAccessKey', 'sessionToken'],
  capture: [],
};

/** ESP transports (an API, not an MTA): the brief's default route for marketing mail. */
export const ESP_KINDS: ReadonlySet<TransportKind> = new Set(['mailgun', 'sendgrid', 'ses']);

export const TRANSPORT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A configured transport, secrets included (only the delivery engine sees this form). */
export interface TransportDefinition {
  name: string;
  kind: TransportKind;
  /** What may be shown: host, port, region, domain, user… */
  settings: Record<string, unknown>;
  secrets: Record<string, string>;
  /** Messages per second through this transport (all workers together); null = unlimited. */
  maxPerSecond: number | null;
  /** Concurrent sends through this transport (all workers together); null = the adapter's pool size. */
  maxConnections: number | null;
  /** The warm-up plan (see domain/warmup), or null for none. */
  warmup: unknown;
  warmupStartedAt: number | null;
  enabled: boolean;
}

/** A routing rule: messages matching every given condition go to the first usable transport in `transports`. */
export interface RouteRule {
  stream: 'marketing' | 'transactional' | null;
  senderDomain: string | null;
  recipientDomain: string | null;
  /** Transport names in failover order. */
  transports: string[];
}

/** What routing needs to know of a message. */
export interface RoutedMessage {
  stream: 'marketing' | 'transactional';
  senderDomain: string;
  recipientDomain: string;
}

/**
 * The ordered list of transports to try for a message: the first rule that matches wins; without
 * one, the brief's default — transactional mail through the store's own MTA (an SMTP transport),
 * marketing through an ESP — falling back to any enabled transport, then to capture, so a fresh
 * installation never sends anything out.
 */
export function routeFor(msg: RoutedMessage, rules: readonly RouteRule[], transports: readonly Pick<TransportDefinition, 'name' | 'kind' | 'enabled'>[]): string[] {
  const enabled = transports.filter((t) => t.enabled);
  const usable = new Set(enabled.map((t) => t.name));
  for (const r of rules) {
    if (r.stream && r.stream !== msg.stream) continue;
    if (r.senderDomain && !domainMatches(msg.senderDomain, r.senderDomain)) continue;
    if (r.recipientDomain && !domainMatches(msg.recipientDomain, r.recipientDomain)) continue;
    // capture is built in (never a configured transport), so it is always usable when a rule names it.
    const list = r.transports.filter((n) => n === 'capture' || usable.has(n));
    if (list.length > 0) return list;
  }
  const preferred = enabled.filter((t) => (msg.stream === 'transactional' ? t.kind === 'smtp' : ESP_KINDS.has(t.kind)));
  const rest = enabled.filter((t) => !preferred.includes(t));
  const list = [...preferred, ...rest].map((t) => t.name);
  return list.length > 0 ? list : ['capture'];
}

/** `example.com` matches itself and its subdomains; `*.example.com` only subdomains. */
function domainMatches(domain: string, pattern: string): boolean {
  if (pattern.startsWith('*.')) return domain.endsWith(pattern.slice(1));
  return domain === pattern || domain.endsWith(`.${pattern}`);
}

const DOMAIN = /^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

/** Checks a rule list against the transports that exist; every problem is reported with its path. */
export function checkRouteRules(rules: readonly RouteRule[], names: ReadonlySet<string>): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  rules.forEach((r, i) => {
    for (const f of ['senderDomain', 'recipientDomain'] as const) {
      const v = r[f];
      if (v !== null && !DOMAIN.test(v)) errors.push({ field: `/${i}/${f}`, message: `"${v}" is not a domain (lower-case, e.g. example.com or *.example.com)` });
    }
    if (r.transports.length === 0) errors.push({ field: `/${i}/transports`, message: 'must name at least one transport' });
    r.transports.forEach((n, j) => {
      if (n !== 'capture' && !names.has(n)) errors.push({ field: `/${i}/transports/${j}`, message: `no transport "${n}"` });
    });
  });
  return errors;
}
