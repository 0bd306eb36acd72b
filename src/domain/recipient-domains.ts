import { AppError, type ErrorDetail } from '../lib/errors.ts';

/**
 * Recipient domain groups: the mailbox providers whose receiving servers limit a sender as one,
 * whatever the address's domain (googlemail.com is Gmail; yahoo.co.uk, aol.com and ymail.com are all
 * Yahoo's servers). Each group gets its own concurrency and rate per sending IP or transport, and
 * its own adaptive throttle (domain/adaptive-throttle.ts). Everything else is `others`.
 */
export type DomainGroup = 'gmail' | 'yahoo' | 'microsoft' | 'others';

/** Every group, in the order the API and dashboards list them. */
export const DOMAIN_GROUPS: readonly DomainGroup[] = ['gmail', 'yahoo', 'microsoft', 'others'];

const EXACT: Readonly<Record<string, DomainGroup>> = {
  'gmail.com': 'gmail',
  'googlemail.com': 'gmail',
  'ymail.com': 'yahoo',
  'rocketmail.com': 'yahoo',
  'aim.com': 'yahoo',
  // Verizon's consumer mail moved to AOL (Yahoo's servers) in 2017; its MX is Yahoo's.
  'verizon.net': 'yahoo',
  'msn.com': 'microsoft',
  'windowslive.com': 'microsoft',
};

/** Providers with one brand under many country domains: yahoo.com, yahoo.co.uk, hotmail.fr, live.com.mx… */
const BRANDS: Readonly<Record<string, DomainGroup>> = {
  yahoo: 'yahoo',
  aol: 'yahoo',
  outlook: 'microsoft',
  hotmail: 'microsoft',
  live: 'microsoft',
};

/** Second levels used under a country code: co.uk, com.br, co.jp, ne.jp, or.jp, net.au, org.uk… */
const COUNTRY_SECOND_LEVELS = new Set(['co', 'com', 'net', 'org', 'ne', 'or']);

/** Yahoo! JAPAN is another company on its own servers, so it is not in the Yahoo group. */
const NOT_IN_GROUP = new Set(['yahoo.co.jp']);

/**
 * The group of an address or a domain (`Alice@GoogleMail.com` → `gmail`). Case and a trailing dot
 * are ignored; anything not recognised, including an empty or malformed input, is `others`.
 */
export function domainGroup(emailOrDomain: string): DomainGroup {
  const at = emailOrDomain.lastIndexOf('@');
  const domain = emailOrDomain.slice(at + 1).trim().toLowerCase().replace(/\.$/, '');
  const exact = EXACT[domain];
  if (exact) return exact;
  if (NOT_IN_GROUP.has(domain)) return 'others';
  const labels = domain.split('.');
  const brand = BRANDS[labels[0] ?? ''];
  if (!brand) return 'others';
  // brand.tld, or brand.<co|com|…>.<two-letter country code>; never a longer name such as
  // live.example.com, which is someone else's domain.
  if (labels.length === 2 && /^[a-z]{2,}$/.test(labels[1]!)) return brand;
  if (labels.length === 3 && COUNTRY_SECOND_LEVELS.has(labels[1]!) && /^[a-z]{2}$/.test(labels[2]!)) return brand;
  return 'others';
}

/**
 * The group of a receiving server by its MX host name, for domains hosted by a provider under their
 * own name (Google Workspace, Microsoft 365): Google limits per MX host, not per recipient domain.
 */
export function domainGroupOfMx(mxHost: string): DomainGroup {
  const host = mxHost.trim().toLowerCase().replace(/\.$/, '');
  const under = (suffix: string): boolean => host === suffix || host.endsWith(`.${suffix}`);
  if (under('google.com') || under('googlemail.com')) return 'gmail';
  if (under('yahoodns.net')) return 'yahoo';
  if (under('outlook.com') || under('hotmail.com')) return 'microsoft';
  return 'others';
}

/** How much one sending IP (or transport) may send to one group at once. */
export interface GroupLimits {
  /** Open SMTP connections at once. */
  concurrency: number;
  /** Messages a second, the rate the adaptive throttle starts from and returns to. */
  perSecond: number;
  /** Messages that may go at once after a pause: the token bucket's size. */
  burst: number;
  /** Messages before a connection is closed and opened anew; null for no limit. */
  messagesPerConnection: number | null;
}

/**
 * Default limits per sending IP, from ../shared/reference/senders-rules-and-saas.md §4.2: Gmail and
 * Microsoft publish no numbers and signal limits with 421 / 4.7.x replies, so these are a modest
 * start that the adaptive throttle halves on the first such reply; Yahoo closes connections after a
 * number of messages (20 per connection is the published starting point) and is the most
 * conservative of the three; `others` is every other domain together, with Postfix's default of
 * 20 connections (default_destination_concurrency_limit). Bursts are one second's worth: the
 * providers ask for a steady rate, not bursts. During warm-up the daily caps bind long before these.
 */
export const DEFAULT_GROUP_LIMITS: Readonly<Record<DomainGroup, Readonly<GroupLimits>>> = {
  gmail: { concurrency: 10, perSecond: 20, burst: 20, messagesPerConnection: 100 },
  yahoo: { concurrency: 5, perSecond: 10, burst: 10, messagesPerConnection: 20 },
  microsoft: { concurrency: 5, perSecond: 10, burst: 10, messagesPerConnection: 100 },
  others: { concurrency: 20, perSecond: 100, burst: 100, messagesPerConnection: 100 },
};

const LIMIT_BOUNDS: Record<keyof GroupLimits, [number, number]> = {
  concurrency: [1, 1_000],
  perSecond: [0.01, 100_000],
  burst: [1, 100_000],
  messagesPerConnection: [1, 100_000],
};

/**
 * Validates limits from a config file or the API (`{ yahoo: { perSecond: 5 } }`): each group and
 * field is optional and falls back to the defaults. Throws one error naming every bad field.
 */
export function parseGroupLimits(input: unknown, field = 'domainLimits'): Record<DomainGroup, GroupLimits> {
  const result = Object.fromEntries(DOMAIN_GROUPS.map((g) => [g, { ...DEFAULT_GROUP_LIMITS[g] }])) as Record<DomainGroup, GroupLimits>;
  if (input === undefined || input === null) return result;
  const details: ErrorDetail[] = [];
  if (typeof input !== 'object' || Array.isArray(input)) {
    details.push({ field, message: 'must be an object with one entry per domain group' });
  } else {
    for (const [group, value] of Object.entries(input)) {
      const at = `${field}/${group}`;
      if (!(DOMAIN_GROUPS as readonly string[]).includes(group)) {
        details.push({ field: at, message: `unknown domain group; use one of ${DOMAIN_GROUPS.join(', ')}` });
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        details.push({ field: at, message: 'must be an object' });
        continue;
      }
      const target = result[group as DomainGroup];
      for (const [name, n] of Object.entries(value as Record<string, unknown>)) {
        const bounds = LIMIT_BOUNDS[name as keyof GroupLimits];
        if (!bounds) {
          details.push({ field: `${at}/${name}`, message: `unknown limit; use ${Object.keys(LIMIT_BOUNDS).join(', ')}` });
        } else if (name === 'messagesPerConnection' && n === null) {
          target.messagesPerConnection = null;
        } else if (typeof n !== 'number' || !Number.isFinite(n) || n < bounds[0] || n > bounds[1] || (name !== 'perSecond' && !Number.isInteger(n))) {
          const kind = name === 'perSecond' ? 'a number' : 'a whole number';
          details.push({ field: `${at}/${name}`, message: `must be ${kind} from ${bounds[0]} to ${bounds[1]}` });
        } else {
          target[name as keyof GroupLimits] = n;
        }
      }
    }
  }
  if (details.length > 0) {
    throw new AppError('validation_failed', `invalid domain limits: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`, details);
  }
  return result;
}
