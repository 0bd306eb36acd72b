import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import { AppError, type ErrorCode, type ErrorDetail } from '../lib/errors.ts';
import { ajvDetail } from './validation.ts';

// The one place where error codes become HTTP statuses.
const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  import_failed: 422,
  config_invalid: 500,
  internal: 500,
};

/** The HTTP status of an error code (for handlers that answer errors in another shape, such as an HTML page). */
export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

/** The body of every error response. */
export function errorBody(code: ErrorCode, message: string, details: ErrorDetail[] = []) {
  return { error: { code, message, details } };
}

/** Turns any thrown error into `{ error: { code, message, details } }` with the right status. */
export function handleError(err: FastifyError | AppError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof AppError) return reply.status(STATUS[err.code]).send(errorBody(err.code, err.message, err.details));
  const fe = err as FastifyError & { validation?: ErrorObject[]; validationContext?: string };
  if (fe.validation) {
    const details = fe.validation.map((v) => ajvDetail(v, fe.validationContext ?? 'body'));
    return reply.status(400).send(errorBody('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details));
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return reply.status(413).send(errorBody('payload_too_large', 'the request body is larger than this endpoint accepts', [{ field: 'body', message: 'too large' }]));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply.status(415).send(errorBody('unsupported_media_type', `content type ${req.headers['content-type'] ?? '(none)'} is not accepted; send application/json`, [{ field: 'content-type', message: 'unsupported' }]));
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return reply.status(400).send(errorBody('validation_failed', 'the request body is empty; send a JSON object', [{ field: 'body', message: 'empty' }]));
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return reply.status(400).send(errorBody('validation_failed', `the request body is not valid JSON: ${fe.message}`, [{ field: 'body', message: 'invalid JSON' }]));
  }
  if (fe instanceof SyntaxError || fe.statusCode === 400) {
    return reply.status(400).send(errorBody('validation_failed', `the request could not be read: ${fe.message}`, [{ field: 'body', message: fe.message }]));
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return reply.status(fe.statusCode).send(errorBody('validation_failed', fe.message, []));
  }
  req.log.error({ err }, 'request failed');
  return reply.status(500).send(errorBody('internal', 'an unexpected error occurred; it has been logged', []));
}
