import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { StoredTemplate } from '../db/queries/templates.ts';
import type { TemplateInput } from '../domain/templates.ts';
import { getTemplate, listTemplates, removeTemplate, renderTemplate, saveTemplateInput, sendTestMessage } from '../services/templates.ts';
import { installStarterTemplates } from '../services/starter-templates.ts';
import type { RouteDeps } from './server.ts';
import { isoTime, Nullable, StringEnum } from './schemas.ts';

const Variant = Type.Object(
  {
    subject: Type.String({ maxLength: 998 }),
    preheader: Type.Optional(Type.String({ maxLength: 500 })),
    fromName: Type.String({ maxLength: 200 }),
    fromEmail: Type.String({ maxLength: 320 }),
    replyTo: Type.Optional(Nullable(Type.String({ maxLength: 320 }))),
    bodyType: Type.Optional(StringEnum(['mjml', 'html'] as const, 'default mjml')),
    body: Type.String({ maxLength: 500_000 }),
    textBody: Type.Optional(Nullable(Type.String({ maxLength: 200_000, description: 'hand-written text part; generated from the HTML when absent' }))),
  },
  { additionalProperties: false },
);
const Utm = Type.Object(
  { source: Type.Optional(Type.String({ maxLength: 200 })), medium: Type.Optional(Type.String({ maxLength: 200 })), campaign: Type.Optional(Type.String({ maxLength: 200 })), content: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);
const TemplateBody = Type.Object(
  {
    key: Type.String({ maxLength: 64 }),
    name: Type.String({ maxLength: 200 }),
    kind: StringEnum(['marketing', 'transactional'] as const),
    topic: Type.Optional(Nullable(Type.String({ maxLength: 64, description: 'required for marketing' }))),
    defaultLocale: Type.String({ maxLength: 35 }),
    trackOpens: Type.Optional(Type.Boolean({ default: true })),
    trackClicks: Type.Optional(Type.Boolean({ default: true })),
    utm: Type.Optional(Nullable(Utm)),
    variants: Type.Record(Type.String({ maxLength: 35 }), Variant, { description: 'locale → variant, e.g. {"en": {...}, "fa": {...}}' }),
  },
  { additionalProperties: false },
);
const KeyParams = Type.Object({ key: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
const RenderBody = Type.Object(
  {
    locale: Type.Optional(Type.String({ maxLength: 35 })),
    contactId: Type.Optional(Type.Integer({ minimum: 1, description: 'render for this contact; a sample contact otherwise' })),
    context: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'order, cart, product, coupon… (samples otherwise)' })),
  },
  { additionalProperties: false },
);

type Body = {
  key: string; name: string; kind: 'marketing' | 'transactional'; topic?: string | null; defaultLocale: string; trackOpens?: boolean; trackClicks?: boolean; utm?: TemplateInput['utm'];
  variants: Record<string, { subject: string; preheader?: string; fromName: string; fromEmail: string; replyTo?: string | null; bodyType?: 'mjml' | 'html'; body: string; textBody?: string | null }>;
};

function toInput(b: Body): TemplateInput {
  return {
    key: b.key,
    name: b.name,
    kind: b.kind,
    topic: b.topic ?? null,
    defaultLocale: b.defaultLocale,
    trackOpens: b.trackOpens ?? true,
    trackClicks: b.trackClicks ?? true,
    utm: b.utm ?? null,
    variants: Object.fromEntries(
      Object.entries(b.variants).map(([l, v]) => [l, { subject: v.subject, preheader: v.preheader ?? '', fromName: v.fromName, fromEmail: v.fromEmail, replyTo: v.replyTo ?? null, bodyType: v.bodyType ?? 'mjml', body: v.body, textBody: v.textBody ?? null }]),
    ),
  };
}

function toJson(t: StoredTemplate) {
  return {
    ...t,
    createdAt: isoTime(t.createdAt),
    updatedAt: isoTime(t.updatedAt),
    variants: Object.fromEntries(t.variants.map(({ id: _i, templateId: _t, compiledHtml: _h, ...v }) => [v.locale, v])),
  };
}

/** Templates: save (validated and compiled), preview, test send, the starter library. */
export const templateRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['templates'];

  app.get('/templates', { schema: { tags, summary: 'List templates' } }, async () => ({ items: (await listTemplates(ctx)).map((t) => ({ ...t, locales: t.locales ? t.locales.split(',') : [], updatedAt: isoTime(t.updatedAt) })) }));

  app.post('/templates', { schema: { tags, summary: 'Create a template (MJML and Liquid are checked; errors come with line and column)', body: TemplateBody } }, async (req, reply) =>
    reply.status(201).send(toJson(await saveTemplateInput(ctx, toInput(req.body as Body), 'create'))),
  );

  app.get('/templates/:key', { schema: { tags, summary: 'Read a template with its variants', params: KeyParams } }, async (req) => toJson(await getTemplate(ctx, req.params.key)));

  app.put('/templates/:key', { schema: { tags, summary: 'Replace a template (a new version)', params: KeyParams, body: TemplateBody } }, async (req) => {
    return toJson(await saveTemplateInput(ctx, { ...toInput(req.body as Body), key: req.params.key }, 'replace'));
  });

  app.delete('/templates/:key', { schema: { tags, summary: 'Delete a template', params: KeyParams } }, async (req, reply) => {
    await removeTemplate(ctx, req.params.key);
    return reply.status(204).send();
  });

  app.post('/templates/:key/preview', { schema: { tags, summary: 'Render for a sample or real contact, exactly as it would be sent', params: KeyParams, body: RenderBody } }, async (req) => {
    const { message, locale } = await renderTemplate(ctx, req.params.key, req.body);
    return { locale, subject: message.subject, from: message.from, replyTo: message.replyTo, to: message.to, headers: message.headers, html: message.html, text: message.text };
  });

  app.get(
    '/templates/:key/preview.html',
    {
      schema: {
        tags,
        summary: 'A page showing the rendered email at desktop (600 px) and mobile (375 px) widths',
        params: KeyParams,
        querystring: Type.Object({ locale: Type.Optional(Type.String({ maxLength: 35 })), contactId: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
        produces: ['text/html'],
      },
    },
    async (req, reply) => {
      const { message, locale } = await renderTemplate(ctx, req.params.key, req.query);
      const frame = (w: number) => `<figure><figcaption>${w === 600 ? 'Desktop' : 'Mobile'} · ${w}px</figcaption><iframe sandbox width="${w}" height="900" srcdoc="${message.html.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"></iframe></figure>`;
      const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
      reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; frame-src 'self'");
      return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(message.subject)}</title><style>body{font:14px system-ui;margin:24px;background:#eee}main{display:flex;gap:24px;align-items:flex-start}iframe{border:1px solid #ccc;background:#fff}</style></head><body><p><b>${esc(message.subject)}</b> · ${esc(locale)} · from ${esc(message.from.name)} &lt;${esc(message.from.address)}&gt;</p><main>${frame(600)}${frame(375)}</main></body></html>`;
    },
  );

  app.post(
    '/templates/:key/test-send',
    {
      schema: {
        tags,
        summary: 'Send one rendered copy to one address through the configured transport',
        params: KeyParams,
        body: Type.Object({ to: Type.String({ maxLength: 320 }), locale: Type.Optional(Type.String({ maxLength: 35 })), contactId: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
      },
    },
    async (req) => sendTestMessage(ctx, req.params.key, req.body),
  );

  app.post(
    '/templates/starters',
    {
      schema: {
        tags,
        summary: 'Install the starter library (English and Persian); existing keys are left alone',
        body: Type.Object({ keys: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100 })) }, { additionalProperties: false }),
      },
    },
    async (req) => installStarterTemplates(ctx, req.body.keys),
  );
};
