import type { Db } from '../../db/database.ts';
import type { TransportDefinition } from '../../domain/transports.ts';
import { AppError } from '../../lib/errors.ts';
import type { Clock } from '../../lib/clock.ts';
import type { MailTransport, TransportFactory } from '../../ports/mail-transport.ts';
import { createCaptureTransport } from './capture.ts';
import { createMailgunTransport } from './mailgun.ts';
import { createSendGridTransport } from './sendgrid.ts';
import { createSesTransport } from './ses.ts';
import { createSmtpTransport } from './smtp.ts';
import { checkWebhookSettings, WEBHOOK_SETTINGS } from '../feedback/webhook-settings.ts';

/**
 * Builds the adapter for a configured transport from its shown settings and sealed secrets.
 * Settings of the wrong type are refused here with the setting's name (the adapters check values).
 */
export function createTransportFactory(deps: { db: Db; clock: Clock }): TransportFactory {
  return (def: TransportDefinition): MailTransport => {
    const s = def.settings;
    const str = (k: string, required = true): string | undefined => {
      const v = s[k];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'string') throw bad(def, k, 'must be a string');
      return v;
    };
    const num = (k: string, required = true): number | undefined => {
      const v = s[k];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(def, k, 'must be a number');
      return v;
    };
    const known = (keys: string[]) => {
      for (const k of Object.keys(s)) if (!keys.includes(k)) throw bad(def, k, `is not a setting of a ${def.kind} transport (${keys.join(', ')})`);
    };
    switch (def.kind) {
      case 'smtp': {
        known(['host', 'port', 'secure', 'starttls', 'user', 'localAddress', 'name', 'maxMessagesPerConnection', 'connectionTimeoutMs', 'greetingTimeoutMs', 'socketTimeoutMs', 'rejectUnauthorized', 'servername', 'domainLimits']);
        const user = str('user', false);
        const starttls = str('starttls', false) ?? 'require';
        if (starttls !== 'require' && starttls !== 'opportunistic') throw bad(def, 'starttls', 'must be "require" or "opportunistic"');
        if (user !== undefined && def.secrets.password === undefined) throw bad(def, 'user', 'needs a password in secrets');
        const tls = { ...(s.rejectUnauthorized !== undefined ? { rejectUnauthorized: s.rejectUnauthorized === true } : {}), ...(s.servername !== undefined ? { servername: str('servername') } : {}) };
        return createSmtpTransport({
          host: str('host')!,
          port: num('port', false) ?? 25,
          secure: s.secure === true,
          starttls,
          name: str('name', false) ?? 'localhost',
          ...(user !== undefined ? { auth: { user, pass: def.secrets.password! } } : {}),
          ...(s.localAddress !== undefined ? { localAddress: str('localAddress') } : {}),
          ...(def.maxConnections ? { maxConnections: def.maxConnections } : {}),
          ...(s.maxMessagesPerConnection !== undefined ? { maxMessagesPerConnection: num('maxMessagesPerConnection') } : {}),
          ...(s.connectionTimeoutMs !== undefined ? { connectionTimeoutMs: num('connectionTimeoutMs') } : {}),
          ...(s.greetingTimeoutMs !== undefined ? { greetingTimeoutMs: num('greetingTimeoutMs') } : {}),
          ...(s.socketTimeoutMs !== undefined ? { socketTimeoutMs: num('socketTimeoutMs') } : {}),
          ...(Object.keys(tls).length > 0 ? { tls } : {}),
        });
      }
      case 'mailgun':
        known(['domain', 'region', 'baseUrl', 'timeoutMs', ...WEBHOOK_SETTINGS.mailgun]);
        checkWebhookSettings(def);
        return createMailgunTransport({ apiKey: def.secrets.apiKey ?? '', domain: str('domain')!, region: (str('region', false) ?? 'us') as 'us' | 'eu', ...(s.baseUrl !== undefined ? { baseUrl: str('baseUrl') } : {}), ...(s.timeoutMs !== undefined ? { timeoutMs: num('timeoutMs') } : {}), clock: deps.clock });
      case 'sendgrid':
        known(['baseUrl', 'timeoutMs', ...WEBHOOK_SETTINGS.sendgrid]);
        checkWebhookSettings(def);
        return createSendGridTransport({ apiKey: def.secrets.apiKey ?? '', ...(s.baseUrl !== undefined ? { baseUrl: str('baseUrl') } : {}), ...(s.timeoutMs !== undefined ? { timeoutMs: num('timeoutMs') } : {}), clock: deps.clock });
      case 'ses':
        known(['region', 'accessKeyId', 'configurationSet', 'baseUrl', 'timeoutMs', ...WEBHOOK_SETTINGS.ses]);
        checkWebhookSettings(def);
        return createSesTransport({
          region: str('region')!,
          accessKeyId: str('accessKeyId')!,
          secretAccessKey: def.secrets.secretAccessKey ?? '',
          ...(def.secrets.sessionToken ? { sessionToken: def.secrets.sessionToken } : {}),
          ...(s.configurationSet !== undefined ? { configurationSet: str('configurationSet') } : {}),
          ...(s.baseUrl !== undefined ? { baseUrl: str('baseUrl') } : {}),
          ...(s.timeoutMs !== undefined ? { timeoutMs: num('timeoutMs') } : {}),
          clock: deps.clock,
        });
      case 'capture':
        known([]);
        return createCaptureTransport(deps);
    }
  };
}

function bad(def: TransportDefinition, setting: string, message: string): AppError {
  const field = `settings/${setting}`;
  return new AppError('config_invalid', `${def.kind} transport "${def.name}": ${setting} ${message}`, [{ field, message }]);
}
