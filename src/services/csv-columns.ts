import { ATTRIBUTE_NAME, PROFILE_FIELDS, type ProfileField } from '../domain/contacts.ts';
import { TOPIC_KEY } from '../domain/consent.ts';

/** What one CSV column feeds. */
export type ColumnTarget =
  | { kind: 'email' }
  | { kind: 'profile'; field: ProfileField }
  | { kind: 'attribute'; name: string }
  | { kind: 'attributes_json' }
  | { kind: 'topic'; key: string }
  | { kind: 'external_id'; source: string }
  | { kind: 'consent'; field: 'wording' | 'wordingVersion' | 'ip' | 'userAgent' }
  | { kind: 'ignore' };

// Header spellings people actually use, after lower-casing and turning spaces/dashes into _.
const ALIASES: Record<string, ColumnTarget> = {
  email: { kind: 'email' },
  e_mail: { kind: 'email' },
  email_address: { kind: 'email' },
  first_name: { kind: 'profile', field: 'firstName' },
  firstname: { kind: 'profile', field: 'firstName' },
  given_name: { kind: 'profile', field: 'firstName' },
  last_name: { kind: 'profile', field: 'lastName' },
  lastname: { kind: 'profile', field: 'lastName' },
  surname: { kind: 'profile', field: 'lastName' },
  family_name: { kind: 'profile', field: 'lastName' },
  locale: { kind: 'profile', field: 'locale' },
  language: { kind: 'profile', field: 'locale' },
  timezone: { kind: 'profile', field: 'timezone' },
  time_zone: { kind: 'profile', field: 'timezone' },
  currency: { kind: 'profile', field: 'currency' },
  phone: { kind: 'profile', field: 'phone' },
  phone_number: { kind: 'profile', field: 'phone' },
  attributes: { kind: 'attributes_json' },
  external_id: { kind: 'external_id', source: 'store' },
  consent_wording: { kind: 'consent', field: 'wording' },
  consent_version: { kind: 'consent', field: 'wordingVersion' },
  consent_ip: { kind: 'consent', field: 'ip' },
  consent_user_agent: { kind: 'consent', field: 'userAgent' },
  // Written by `contacts export`; read-only, so a re-import ignores them.
  id: { kind: 'ignore' },
  created_at: { kind: 'ignore' },
  updated_at: { kind: 'ignore' },
};

/**
 * Decides what a header feeds: an explicit mapping wins (`email`, `first_name`, `attr.plan`,
 * `topic.newsletter`, `external_id.woocommerce`, `ignore`); otherwise known names and
 * `topic.<key>` / `external_id.<source>` headers; anything else becomes an attribute.
 * Returns an error message for a mapping that names no valid target.
 */
export function resolveColumn(header: string, mapping: Readonly<Record<string, string>>): ColumnTarget | string {
  const explicit = mapping[header];
  const name = explicit ?? header;
  const norm = name.trim().replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase().replace(/[\s-]+/g, '_');
  if (norm === 'ignore') return { kind: 'ignore' };
  const alias = ALIASES[norm];
  if (alias) return alias;
  const camel = PROFILE_FIELDS.find((f) => f === name);
  if (camel) return { kind: 'profile', field: camel };
  // The prefix is matched in any case ("Topic.newsletter" is still a topic column, not an attribute).
  const prefixed = /^(topic|attr|external_id)[.:](.+)$/i.exec(name.trim());
  if (prefixed) {
    const [, prefix, rest] = prefixed as unknown as [string, string, string];
    const kind = prefix.toLowerCase();
    if (kind === 'topic') return TOPIC_KEY.test(rest) ? { kind: 'topic', key: rest } : `"${rest}" is not a topic key`;
    if (kind === 'external_id') return /^[a-z][a-z0-9_-]{0,31}$/.test(rest) ? { kind: 'external_id', source: rest } : `"${rest}" is not a source name`;
    return ATTRIBUTE_NAME.test(rest) ? { kind: 'attribute', name: rest } : `"${rest}" is not a valid attribute name`;
  }
  if (explicit !== undefined) return `"${explicit}" is not a field (use email, first_name, last_name, locale, timezone, currency, phone, attr.<name>, topic.<key>, external_id.<source> or ignore)`;
  // An unknown header becomes an attribute named after it, made safe for use as a JSON path.
  let attr = norm.replace(/[^a-z0-9_]/g, '_').slice(0, 64);
  if (!/^[a-z_]/.test(attr)) attr = `_${attr}`.slice(0, 64);
  return { kind: 'attribute', name: attr };
}

/** Reads a topic column's cell: the statuses and the yes/no words files use for them. */
export function parseTopicCell(cell: string): 'subscribed' | 'unsubscribed' | 'pending' | undefined {
  switch (cell.trim().toLowerCase()) {
    case 'subscribed': case 'yes': case 'y': case 'true': case '1': case 'opted_in': case 'opt_in':
      return 'subscribed';
    case 'unsubscribed': case 'no': case 'n': case 'false': case '0': case 'opted_out': case 'opt_out':
      return 'unsubscribed';
    case 'pending':
      return 'pending';
    default:
      return undefined;
  }
}

/** Turns a cell into an attribute value: plain integers and decimals become numbers, true/false booleans. */
export function parseAttributeCell(cell: string): unknown {
  // Leading zeros (zip codes, ids) and digit strings beyond exact doubles stay text.
  if (/^-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?$/.test(cell)) return Number(cell);
  if (cell === 'true') return true;
  if (cell === 'false') return false;
  return cell;
}
