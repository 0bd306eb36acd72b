import { selectTemplate } from '../db/queries/templates.ts';
import { selectTopicByKey } from '../db/queries/topics.ts';
import { AppError } from '../lib/errors.ts';
import { loadStarterBody, STARTER_LOCALES, STARTER_TEMPLATES } from '../templates/starters/catalog.ts';
import type { ServiceContext } from './context.ts';
import { getStoreSettings } from './store-settings.ts';
import { saveTemplateInput } from './templates.ts';
import { createTopic } from './topics.ts';

/**
 * Installs the starter library (all, or the named keys) as ordinary templates the store can
 * edit. Keys that already exist are left untouched; the topics they use are created if missing.
 * Sends from `hello@<sending domain>` until the store changes it.
 */
export async function installStarterTemplates(ctx: ServiceContext, keys?: string[]): Promise<{ installed: string[]; skipped: string[] }> {
  const unknown = (keys ?? []).filter((k) => !STARTER_TEMPLATES.some((t) => t.key === k));
  if (unknown.length > 0) {
    throw new AppError('validation_failed', `unknown starter template: ${unknown.join(', ')} (available: ${STARTER_TEMPLATES.map((t) => t.key).join(', ')})`, unknown.map((k) => ({ field: 'keys', message: `no starter "${k}"` })));
  }
  const store = await getStoreSettings(ctx);
  const installed: string[] = [];
  const skipped: string[] = [];
  for (const starter of STARTER_TEMPLATES.filter((t) => !keys || keys.includes(t.key))) {
    if (await selectTemplate(ctx.db, starter.key)) {
      skipped.push(starter.key);
      continue;
    }
    if (starter.topic && !(await selectTopicByKey(ctx.db, starter.topic))) {
      await createTopic(ctx, { key: starter.topic, name: starter.topic === 'newsletter' ? 'Newsletter' : starter.topic });
    }
    await saveTemplateInput(
      ctx,
      {
        key: starter.key,
        name: starter.name,
        kind: starter.kind,
        topic: starter.topic,
        defaultLocale: store.defaultLocale.startsWith('fa') ? 'fa' : 'en',
        trackOpens: starter.tracking ?? true,
        trackClicks: starter.tracking ?? true,
        utm: { ...(store.utm ?? {}), campaign: starter.key },
        variants: Object.fromEntries(
          STARTER_LOCALES.map((locale) => [
            locale,
            {
              subject: starter.locales[locale].subject,
              preheader: starter.locales[locale].preheader,
              fromName: store.name,
              fromEmail: `hello@${store.sendingDomain}`,
              replyTo: store.supportEmail,
              bodyType: 'mjml' as const,
              body: loadStarterBody(starter.key, locale),
              textBody: null,
            },
          ]),
        ),
      },
      'create',
    );
    installed.push(starter.key);
  }
  return { installed, skipped };
}
