import { deleteTransport, insertTransport, selectTransport, selectTransports, updateTransport, type TransportRow } from '../db/queries/transports.ts';
import { selectSetting, upsertSetting } from '../db/queries/settings.ts';
import { checkRouteRules, SECRET_FIELDS, TRANSPORT_NAME, type RouteRule, type TransportDefinition, type TransportKind } from '../domain/transports.ts';
import { parseWarmupPlan } from '../domain/warmup.ts';
import { AppError, type ErrorDetail } from '../lib/errors.ts';
import { seal, unseal } from '../lib/sealed.ts';
import type { TransportFactory } from '../ports/mail-transport.ts';
import type { ServiceContext } from './context.ts';

// Configured transports: settings shown, secrets sealed (lib/sealed) and never returned. Each is
// checked by building its adapter once, so a bad setting is refused when saved, not at 3 a.m.

const SEALED_PURPOSE = 'transport-secret';
const ROUTES_KEY = 'delivery.routes';

export interface TransportInput {
  name: string;
  kind: TransportKind;
  settings: Record<string, unknown>;
  secrets?: Record<string, string>;
  maxPerSecond?: number | null;
  maxConnections?: number | null;
  warmup?: unknown;
  enabled?: boolean;
}

/** A transport as the API shows it: which secrets are set, never their values. */
export interface TransportView {
  name: string;
  kind: TransportKind;
  settings: Record<string, unknown>;
  secretsSet: string[];
  maxPerSecond: number | null;
  maxConnections: number | null;
  warmup: unknown;
  warmupStartedAt: number | null;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

function view(r: TransportRow, secretsSet: string[]): TransportView {
  return { name: r.name, kind: r.kind as TransportKind, settings: r.config, secretsSet, maxPerSecond: r.maxPerSecond, maxConnections: r.maxConnections, warmup: r.warmup, warmupStartedAt: r.warmupStartedAt, enabled: r.enabled, createdAt: r.createdAt, updatedAt: r.updatedAt };
}

function secretsOf(ctx: ServiceContext, r: TransportRow): Record<string, string> {
  return r.secret ? (JSON.parse(unseal(ctx.keyring, SEALED_PURPOSE, r.secret)) as Record<string, string>) : {};
}

export function definitionOf(ctx: ServiceContext, r: TransportRow): TransportDefinition {
  return { name: r.name, kind: r.kind as TransportKind, settings: r.config, secrets: secretsOf(ctx, r), maxPerSecond: r.maxPerSecond, maxConnections: r.maxConnections, warmup: r.warmup, warmupStartedAt: r.warmupStartedAt, enabled: r.enabled };
}

export async function listTransports(ctx: ServiceContext): Promise<TransportView[]> {
  return (await selectTransports(ctx.db)).map((r) => view(r, Object.keys(secretsOf(ctx, r))));
}

export async function getTransport(ctx: ServiceContext, name: string): Promise<TransportView> {
  const r = await selectTransport(ctx.db, name);
  if (!r) throw new AppError('not_found', `transport "${name}" does not exist`);
  return view(r, Object.keys(secretsOf(ctx, r)));
}

/** Every configured transport with its secrets, for the delivery engine. */
export async function loadTransportDefinitions(ctx: ServiceContext): Promise<TransportDefinition[]> {
  return (await selectTransports(ctx.db)).map((r) => definitionOf(ctx, r));
}

/** Creates (`create`) or replaces (`replace`) a transport; secrets not given on replace are kept. */
export async function saveTransport(ctx: ServiceContext, factory: TransportFactory, input: TransportInput, mode: 'create' | 'replace'): Promise<TransportView> {
  const existing = await selectTransport(ctx.db, input.name);
  if (mode === 'create' && existing) throw new AppError('conflict', `transport "${input.name}" already exists`, [{ field: 'name', message: 'already exists' }]);
  if (mode === 'replace' && !existing) throw new AppError('not_found', `transport "${input.name}" does not exist`);
  if (existing && existing.kind !== input.kind) throw new AppError('validation_failed', `kind: transport "${input.name}" is ${existing.kind}; delete it and create a new one to change its kind`, [{ field: 'kind', message: 'cannot change' }]);
  const errors: ErrorDetail[] = [];
  if (!TRANSPORT_NAME.test(input.name) || input.name === 'capture') errors.push({ field: 'name', message: 'must be lower-case letters, digits, - and _ (at most 64), and not "capture"' });
  const secretFields = SECRET_FIELDS[input.kind];
  for (const k of Object.keys(input.settings)) {
    if (secretFields.includes(k)) errors.push({ field: `settings/${k}`, message: 'is a secret: give it in `secrets`, where it is stored encrypted' });
  }
  for (const k of Object.keys(input.secrets ?? {})) {
    if (!secretFields.includes(k)) errors.push({ field: `secrets/${k}`, message: `is not a secret of a ${input.kind} transport (${secretFields.join(', ') || 'it has none'})` });
  }
  if (input.maxPerSecond != null && !(input.maxPerSecond > 0 && input.maxPerSecond <= 100_000)) errors.push({ field: 'maxPerSecond', message: 'must be above 0 and at most 100000' });
  if (input.maxConnections != null && !(Number.isInteger(input.maxConnections) && input.maxConnections >= 1 && input.maxConnections <= 1000)) errors.push({ field: 'maxConnections', message: 'must be a whole number from 1 to 1000' });
  if (input.warmup != null) {
    try {
      parseWarmupPlan(input.warmup);
    } catch (err) {
      errors.push(...(err as AppError).details);
    }
  }
  if (errors.length > 0) throw new AppError('validation_failed', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);

  const secrets = { ...(existing ? secretsOf(ctx, existing) : {}), ...(input.secrets ?? {}) };
  const now = ctx.clock.now();
  const def: TransportDefinition = {
    name: input.name,
    kind: input.kind,
    settings: input.settings,
    secrets,
    maxPerSecond: input.maxPerSecond ?? null,
    maxConnections: input.maxConnections ?? null,
    warmup: input.warmup ?? null,
    // The warm-up clock starts when a plan is first given (or given again after none).
    warmupStartedAt: input.warmup == null ? null : (existing?.warmupStartedAt ?? now),
    enabled: input.enabled ?? true,
  };
  // Building the adapter checks every setting the way it will be used; it is closed unused.
  try {
    await factory(def).close();
  } catch (err) {
    if (err instanceof AppError) throw new AppError('validation_failed', err.message, err.details);
    throw err;
  }
  const row = {
    kind: def.kind,
    config: def.settings,
    secret: Object.keys(secrets).length > 0 ? seal(ctx.keyring, SEALED_PURPOSE, JSON.stringify(secrets)) : null,
    maxPerSecond: def.maxPerSecond,
    maxConnections: def.maxConnections,
    warmup: def.warmup,
    warmupStartedAt: def.warmupStartedAt,
    enabled: def.enabled,
    updatedAt: now,
  };
  if (existing) await updateTransport(ctx.db, input.name, row);
  else await insertTransport(ctx.db, { ...row, name: input.name, createdAt: now });
  return getTransport(ctx, input.name);
}

export async function removeTransport(ctx: ServiceContext, name: string): Promise<void> {
  const routes = await getRoutes(ctx);
  const used = routes.findIndex((r) => r.transports.includes(name));
  if (used >= 0) throw new AppError('conflict', `transport "${name}" is used by route ${used}; change the routes first`, [{ field: 'name', message: 'used by a route' }]);
  if (!(await deleteTransport(ctx.db, name))) throw new AppError('not_found', `transport "${name}" does not exist`);
}

/** The routing rules, in order. */
export async function getRoutes(ctx: ServiceContext): Promise<RouteRule[]> {
  return (await selectSetting<RouteRule[]>(ctx.db, ROUTES_KEY)) ?? [];
}

/** Replaces the routing rules after checking every one against the configured transports. */
export async function setRoutes(ctx: ServiceContext, rules: RouteRule[]): Promise<RouteRule[]> {
  const names = new Set((await selectTransports(ctx.db)).map((t) => t.name));
  const errors = checkRouteRules(rules, names);
  if (errors.length > 0) throw new AppError('validation_failed', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
  await upsertSetting(ctx.db, ROUTES_KEY, rules, ctx.clock.now());
  return rules;
}
