import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMime } from '../../src/templates/compose.ts';
import { renderTemplate } from '../../src/services/templates.ts';
import { STARTER_TEMPLATES } from '../../src/templates/starters/catalog.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { scoreMessages, spamAssassinInstalled } from '../helpers/spamassassin.ts';

// The checks, on the real path a store's mail takes: the starter library installed
// through the API, rendered by the template service for a real English and a real Persian
// contact, composed and built into MIME, then read back by mailparser and scored by SpamAssassin.

const SPAM_LIMIT = 2.0;
const readers = { en: 'olivia@example.com', fa: 'maryam@example.ir' } as const;

describe('starter templates as sent messages', () => {
  let t: TestApp;
  const messages = new Map<string, { raw: Buffer; subject: string; text: string; kind: string }>();
  const dir = mkdtempSync(join(tmpdir(), 'chapar-starter-mail-'));

  beforeAll(async () => {
    t = await createTestApp('sqlite', { CHAPAR_PUBLIC_URL: 'https://mail.kaveh.example' });
    await t.request({ method: 'PATCH', url: '/api/v1/settings/store', body: { name: 'Kaveh', url: 'https://kaveh.example', address: 'Kaveh Shop\n12 Vali-e Asr St\nTehran 1234567890, Iran', supportEmail: 'help@kaveh.example', sendingDomain: 'kaveh.example', bounceDomain: 'bounces.kaveh.example', feedbackSenderId: 'kaveh' } });
    const installed = await t.request({ method: 'POST', url: '/api/v1/templates/starters', body: {} });
    expect(installed.json.installed).toHaveLength(STARTER_TEMPLATES.length);
    const ids = {
      en: (await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: readers.en, firstName: 'Olivia', locale: 'en-US', currency: 'USD', timezone: 'America/Chicago', topics: { newsletter: 'subscribed' } } })).json.id,
      fa: (await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: readers.fa, firstName: 'مریم', locale: 'fa-IR', currency: 'IRT', timezone: 'Asia/Tehran', topics: { newsletter: 'subscribed' } } })).json.id,
    };
    for (const starter of STARTER_TEMPLATES) {
      for (const lang of ['en', 'fa'] as const) {
        const { message, locale } = await renderTemplate(t.app.ctx, starter.key, { contactId: ids[lang] });
        expect(locale).toBe(lang);
        const raw = await buildMime(message, t.clock.now());
        messages.set(`${starter.key}.${lang}`, { raw, subject: message.subject, text: message.text, kind: starter.kind });
      }
    }
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t?.close();
  });

  it('renders every starter for an English and a Persian contact', () => {
    expect(messages.size).toBe(STARTER_TEMPLATES.length * 2);
  });

  it.each(STARTER_TEMPLATES.flatMap((s) => (['en', 'fa'] as const).map((l) => `${s.key}.${l}`)))('%s is valid MIME that mailparser reads back as sent', async (id) => {
    const m = messages.get(id)!;
    const parsed = await simpleParser(m.raw);
    expect(parsed.subject).toBe(m.subject);
    expect((parsed.text ?? '').trim()).toBe(m.text.trim());
    expect(parsed.to).toMatchObject({ value: [{ address: id.endsWith('.fa') ? readers.fa : readers.en }] });
    expect(parsed.messageId).toMatch(/^<[a-z0-9]+@kaveh\.example>$/);
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    const html = parsed.html as string;
    expect(html).not.toMatch(/<link[^>]+stylesheet|@import/i);
    expect(html).not.toMatch(/<script/i);
    if (id.endsWith('.fa')) expect(html).toMatch(/<html[^>]*dir="rtl"/);
    // Readable text: real sentences, no markup or Liquid left, links in brackets.
    expect(m.text).not.toMatch(/\{\{|\{%|<[a-z][^>]*>/i);
    expect(m.text).toMatch(id.endsWith('.fa') ? /مریم|Kaveh/ : /Olivia|Kaveh/);

    const wire = m.raw.toString();
    const lu = /^List-Unsubscribe: (.*)\r$/m.exec(wire)?.[1];
    if (m.kind === 'marketing') {
      expect(lu).toMatch(/^<https:\/\/mail\.kaveh\.example\/u\/\d+\.newsletter\.[a-z0-9]+\.[A-Za-z0-9_-]{22}>, <mailto:unsubscribe\+\d+\.newsletter\.[a-z0-9]+\.[A-Za-z0-9_-]{22}@bounces\.kaveh\.example>$/);
      expect(wire).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
      expect(html).toContain('https://mail.kaveh.example/u/');
    } else {
      expect(lu).toBeUndefined();
      expect(wire).not.toMatch(/^List-Unsubscribe-Post:/m);
    }
    expect(wire).toMatch(/^Feedback-ID: template-[a-z0-9-]+:[a-z0-9-]+:(marketing|transactional):kaveh\r$/m);
  });

  it.skipIf(!spamAssassinInstalled())(`every starter scores below ${SPAM_LIMIT} in SpamAssassin, in English and Persian`, async () => {
    const files = [...messages].map(([id, m]) => {
      const file = join(dir, `${id}.eml`);
      writeFileSync(file, m.raw);
      return file;
    });
    const scores = await scoreMessages(files);
    const report = [...scores].map(([file, s]) => `  ${file.split('/').pop()!.padEnd(28)} ${s.score.toFixed(1).padStart(5)}  ${s.tests}`);
    console.log(`[starters] SpamAssassin scores of sent messages (limit ${SPAM_LIMIT}):\n${report.join('\n')}`);
    expect(scores.size).toBe(files.length);
    expect([...scores.values()].filter((s) => !(s.score < SPAM_LIMIT))).toEqual([]);
  }, 180_000);
  if (!spamAssassinInstalled()) console.log('[starters] SpamAssassin check SKIPPED: /usr/bin/spamassassin is not installed (apt-get install spamassassin; .ci/run does).');
});
