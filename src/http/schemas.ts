import { Type, type TSchema, type Static } from '@sinclair/typebox';
import { SUBSCRIPTION_STATUSES, CONSENT_SOURCES } from '../domain/consent.ts';

// Shared schema pieces. Each resource file declares its own route schemas from these.

/** `T | null`, written as a JSON-schema type list so validation errors stay one line each. */
export function Nullable<T extends TSchema>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [(schema as { type?: string }).type, 'null'] });
}

export function StringEnum<T extends readonly string[]>(values: T, description?: string) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
}

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable machine-readable code' }),
      message: Type.String(),
      details: Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
    }),
  },
  { $id: 'Error', description: 'Every error response' },
);

export const SubscriptionStatusSchema = StringEnum(SUBSCRIPTION_STATUSES);

export const ConsentEvidenceSchema = Type.Object(
  {
    source: Type.Optional(StringEnum(CONSENT_SOURCES, 'where the consent was given; default api')),
    ip: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    userAgent: Type.Optional(Nullable(Type.String({ maxLength: 1024 }))),
    wording: Type.Optional(Nullable(Type.String({ maxLength: 10_000, description: 'the exact text the person agreed to' }))),
    wordingVersion: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  },
  { additionalProperties: false, description: 'Evidence stored in the consent log with each status change' },
);

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor from the previous page' })),
};

/** ISO-8601 text of an epoch-milliseconds time (the API speaks ISO; the database, integers). */
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
