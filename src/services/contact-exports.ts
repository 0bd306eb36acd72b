import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { selectContacts } from '../db/queries/contacts.ts';
import { selectExternalIdSources } from '../db/queries/contacts.ts';
import { selectSubscriptions } from '../db/queries/subscriptions.ts';
import { selectTopics } from '../db/queries/topics.ts';
import type { ServiceContext } from './context.ts';

const PAGE = 1000;

/**
 * Streams every contact as CSV with one `topic.<key>` column per topic and one
 * `external_id.<source>` column per source, a page at a time (constant memory). The columns are
 * the ones `contacts import` reads, so an export re-imports as is.
 */
export function exportContactsCsv(ctx: ServiceContext): Readable {
  return Readable.from(generateRows(ctx), { objectMode: false });
}

async function* generateRows(ctx: ServiceContext): AsyncGenerator<string> {
  const topics = await selectTopics(ctx.db);
  const sources = await selectExternalIdSources(ctx.db);
  yield stringify([
    ['email', 'first_name', 'last_name', 'locale', 'timezone', 'currency', 'phone', ...sources.map((s) => `external_id.${s}`), 'attributes', ...topics.map((t) => `topic.${t.key}`), 'created_at', 'updated_at'],
  ]);
  let afterId: number | undefined;
  for (;;) {
    const page = await selectContacts(ctx.db, { afterId, limit: PAGE });
    if (page.length === 0) return;
    const statuses = new Map<string, string>();
    for (const s of await selectSubscriptions(ctx.db, page.map((c) => c.id))) statuses.set(`${s.contactId}:${s.topicId}`, s.status);
    yield stringify(
      page.map((c) => [
        c.email, c.firstName, c.lastName, c.locale, c.timezone, c.currency, c.phone,
        ...sources.map((s) => c.externalIds[s] ?? ''),
        Object.keys(c.attributes).length > 0 ? JSON.stringify(c.attributes) : '',
        ...topics.map((t) => statuses.get(`${c.id}:${t.id}`) ?? ''),
        new Date(c.createdAt).toISOString(), new Date(c.updatedAt).toISOString(),
      ]),
    );
    afterId = page[page.length - 1]!.id;
  }
}
