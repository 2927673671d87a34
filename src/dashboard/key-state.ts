import { EXPIRING_WITHIN_MS } from './constants.js';
import type { KeyRecord } from './types.js';

/**
 * What the keys list shows: the server's state (docs/api.md: active, expired, revoked), with an active
 * key that expires within a week shown as "expiring" so it can be renewed in time. Pure: `nowMs` is passed.
 */
export type DisplayState = 'active' | 'expiring' | 'expired' | 'revoked';

export const DISPLAY_STATES: readonly DisplayState[] = ['active', 'expiring', 'expired', 'revoked'];

export function displayState(key: Pick<KeyRecord, 'expiresAt' | 'revokedAt'>, nowMs: number): DisplayState {
  if (key.revokedAt !== null && Date.parse(key.revokedAt) <= nowMs) return 'revoked';
  if (key.expiresAt === null) return 'active';
  const expiresAtMs = Date.parse(key.expiresAt);
  if (expiresAtMs <= nowMs) return 'expired';
  return expiresAtMs - nowMs <= EXPIRING_WITHIN_MS ? 'expiring' : 'active';
}

export interface KeyFilter {
  /** 'all' or one display state. */
  state: DisplayState | 'all';
  /** Matched case-insensitively against the key's name and id. */
  search: string;
}

export function matchesFilter(key: Pick<KeyRecord, 'id' | 'name' | 'expiresAt' | 'revokedAt'>, filter: KeyFilter, nowMs: number): boolean {
  if (filter.state !== 'all' && displayState(key, nowMs) !== filter.state) return false;
  const needle = filter.search.trim().toLowerCase();
  return needle === '' || key.name.toLowerCase().includes(needle) || key.id.toLowerCase().includes(needle);
}
