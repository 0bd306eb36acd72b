import { Ajv, type ErrorObject } from 'ajv';
import type { ErrorDetail } from '../lib/errors.ts';

// Bodies are validated strictly (no coercion: "5" is not a number; unknown fields are errors, not
// silently dropped); query strings and path params are text by nature, so they are coerced.
const ajvOptions = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false } as const;
export const bodyAjv = new Ajv({ ...ajvOptions, coerceTypes: false });
export const queryAjv = new Ajv({ ...ajvOptions, coerceTypes: 'array' });

/** Names the exact field an ajv error is about: `email`, `contacts/3/locale`, `limit`. */
export function ajvDetail(v: Pick<ErrorObject, 'instancePath' | 'keyword' | 'message' | 'params'>, context: string, prefix = ''): ErrorDetail {
  const base = prefix + v.instancePath.replace(/^\//, '');
  const join = (child: string) => (base ? `${base.replace(/\/$/, '')}/${child}` : child);
  switch (v.keyword) {
    case 'additionalProperties':
      return { field: join(String((v.params as { additionalProperty: string }).additionalProperty)), message: 'is not a known field' };
    case 'required':
      return { field: join(String((v.params as { missingProperty: string }).missingProperty)), message: 'is required' };
    case 'type': {
      const t = (v.params as { type: string | string[] }).type;
      const types = (Array.isArray(t) ? t : String(t).split(',')).map((x) => (x === 'null' ? 'null' : `a ${x}`));
      return { field: base.replace(/\/$/, '') || context, message: `must be ${types.join(' or ')}` };
    }
    default:
      return { field: base.replace(/\/$/, '') || context, message: v.message ?? v.keyword };
  }
}
