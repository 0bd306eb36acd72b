import { AppError } from '../../lib/errors.ts';

/** Default deadline of one API call: long enough for a 25 MB upload, short enough to free a worker. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Checks the settings every ESP adapter shares; the message names the setting, never its value. */
export function checkEspSettings(transport: string, c: { baseUrl?: string; timeoutMs?: number }, secrets: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(secrets)) {
    if (typeof value !== 'string' || value.trim() === '' || /[\r\n]/.test(value)) {
      throw configError(transport, name, 'is required and must be a single line');
    }
  }
  // No path and no user:password@ (credentials go in their own settings, never in a URL).
  if (c.baseUrl !== undefined && !/^https?:\/\/[^/?#@]+\/?$/.test(c.baseUrl)) {
    throw configError(transport, 'baseUrl', 'must be an http(s) origin such as https://api.example.com, without a path or credentials');
  }
  if (c.timeoutMs !== undefined && !(Number.isInteger(c.timeoutMs) && c.timeoutMs > 0)) {
    throw configError(transport, 'timeoutMs', 'must be a positive whole number of milliseconds');
  }
}

/** A config_invalid error naming `<transport>.<setting>`. */
export function configError(transport: string, setting: string, message: string): AppError {
  const field = `${transport}.${setting}`;
  return new AppError('config_invalid', `${field}: ${message}`, [{ field, message }]);
}
