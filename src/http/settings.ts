import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { getStoreSettings, updateStoreSettings, type StoreSettings } from '../services/store-settings.ts';
import type { RouteDeps } from './server.ts';
import { Nullable } from './schemas.ts';

const StoreBody = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200 })),
    url: Type.Optional(Type.String({ maxLength: 500 })),
    address: Type.Optional(Type.String({ maxLength: 1000, description: 'the physical postal address shown in every marketing email (CAN-SPAM, CASL)' })),
    logoUrl: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
    supportEmail: Type.Optional(Nullable(Type.String({ maxLength: 320 }))),
    defaultLocale: Type.Optional(Type.String({ maxLength: 35 })),
    defaultCurrency: Type.Optional(Type.String({ maxLength: 3 })),
    defaultTimezone: Type.Optional(Type.String({ maxLength: 64 })),
    sendingDomain: Type.Optional(Type.String({ maxLength: 253 })),
    bounceDomain: Type.Optional(Type.String({ maxLength: 253 })),
    feedbackSenderId: Type.Optional(Type.String({ maxLength: 64 })),
    utm: Type.Optional(
      Nullable(
        Type.Object(
          { source: Type.Optional(Type.String()), medium: Type.Optional(Type.String()), campaign: Type.Optional(Type.String()), content: Type.Optional(Type.String()) },
          { additionalProperties: false },
        ),
      ),
    ),
    signupOrigins: Type.Optional(Type.Array(Type.String({ maxLength: 300 }), { maxItems: 20, description: 'origins (https://shop.example) whose pages may post to the public signup; others are refused' })),
    signupTopics: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64, description: 'the topics the public signup offers; a signup naming none asks for all of them (default ["newsletter"])' })),
    signupRedirectUrl: Type.Optional(Nullable(Type.String({ maxLength: 2000, description: "the store's thank-you page a signup form post is redirected to; null shows Chapar's own page" }))),
  },
  { additionalProperties: false },
);

/** Installation settings: the store's identity, sending domains and UTM defaults. */
export const settingsRoutes: FastifyPluginAsync<RouteDeps> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['settings'];
  app.get('/settings/store', { schema: { tags, summary: 'Read the store settings' } }, async () => getStoreSettings(ctx));
  app.patch('/settings/store', { config: { scope: 'admin' }, schema: { tags, summary: 'Change store settings', body: StoreBody } }, async (req) =>
    updateStoreSettings(ctx, req.body as Partial<StoreSettings>),
  );
};
