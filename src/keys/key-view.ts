import type { KeyRecord } from './types.js';
import { keyState } from '../policy/scopes.js';

/** A key record as the admin API and minting answer it (docs/api.md): the record plus its state; never a secret. */
export function keyView(key: KeyRecord, nowMs: number): Record<string, unknown> {
  return { ...key, state: keyState(key, nowMs) };
}
