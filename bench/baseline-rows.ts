import { createReadStream } from 'node:fs';

// Shared by both baselines so they store exactly the same values. They read the generated file,
// which has no quoted fields, by splitting lines on commas: no CSV parser, no validation.

/** One contacts row as the baselines insert it; attributes are JSON text, empty cells are null. */
export type BaselineRow = [
  email: string,
  emailKey: string,
  emailDomain: string,
  firstName: string | null,
  lastName: string | null,
  locale: string | null,
  timezone: string | null,
  currency: string | null,
  phone: string | null,
  attributes: string,
];

/** Yields every line after the header of a UTF-8 file, reading it in chunks. */
export async function* readDataLines(path: string): AsyncGenerator<string> {
  let rest = '';
  let header = true;
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const lines = (rest + (chunk as string)).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (header) header = false;
      else if (line !== '') yield line;
    }
  }
  if (rest !== '' && !header) yield rest;
}

/**
 * Turns one line of the benchmark file (email,first_name,last_name,locale,timezone,currency,phone,
 * city,plan,orders) into a row: the address lower-cased as its key, city/plan/orders as attributes
 * (orders as a number, as the real import stores digit strings).
 */
export function toBaselineRow(line: string): BaselineRow {
  const [email = '', first, last, locale, timezone, currency, phone, city, plan, orders] = line.split(',');
  const attributes: Record<string, unknown> = {};
  if (city) attributes.city = city;
  if (plan) attributes.plan = plan;
  if (orders) attributes.orders = Number(orders);
  const key = email.toLowerCase();
  return [email, key, key.slice(key.lastIndexOf('@') + 1), first || null, last || null, locale || null, timezone || null, currency || null, phone || null, JSON.stringify(attributes)];
}
