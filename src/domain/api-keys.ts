/** What a key may do; each scope includes the ones before it. */
export const API_SCOPES = ['read', 'write', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** A stored key, without its secret (which is never kept: only its SHA-256). */
export interface ApiKey {
  id: number;
  name: string;
  /** The first characters of the key, shown in lists so a person can tell keys apart. */
  prefix: string;
  scope: ApiScope;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** True when a key of scope `held` may call a route that needs `needed`. */
export function scopeAllows(held: ApiScope, needed: ApiScope): boolean {
  return API_SCOPES.indexOf(held) >= API_SCOPES.indexOf(needed);
}

/** Keys look like `chp_<12 chars>_<32 chars>`: recognisable in a leaked-secret scan, prefix for display. */
export const API_KEY_FORMAT = /^chp_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{32}$/;
