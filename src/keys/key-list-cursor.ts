import { errors } from '../errors.js';
import type { KeyRecord } from './types.js';

/**
 * List order and cursors shared by both stores (KeyStore.list contract: createdAt ascending, then id).
 * A cursor is the base64url JSON of the last returned (createdAt ms, id). Resuming strictly after that
 * position, not at an offset, keeps pagination free of duplicates and omissions while keys are added.
 */
export interface ListPosition {
  createdAtMs: number;
  id: string;
}

export const MAX_LIST_LIMIT = 1000;

export function listPositionOf(record: Pick<KeyRecord, 'createdAt' | 'id'>): ListPosition {
  return { createdAtMs: Date.parse(record.createdAt), id: record.id };
}

/** Orders ids by their UTF-8 bytes, as a Redis sorted set orders members of equal score. */
export function compareListPositions(a: ListPosition, b: ListPosition): number {
  if (a.createdAtMs !== b.createdAtMs) return a.createdAtMs < b.createdAtMs ? -1 : 1;
  return Buffer.compare(Buffer.from(a.id, 'utf8'), Buffer.from(b.id, 'utf8'));
}

export function encodeListCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify([position.createdAtMs, position.id]), 'utf8').toString('base64url');
}

/** Throws GatewayError invalid_request (400) for a cursor this module did not produce. */
export function decodeListCursor(cursor: string): ListPosition {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw errors.invalidRequest('Invalid cursor.');
  }
  if (!Array.isArray(value) || value.length !== 2) throw errors.invalidRequest('Invalid cursor.');
  const [createdAtMs, id] = value as unknown[];
  if (typeof createdAtMs !== 'number' || !Number.isSafeInteger(createdAtMs) || typeof id !== 'string' || id === '') {
    throw errors.invalidRequest('Invalid cursor.');
  }
  return { createdAtMs, id };
}

/** Throws GatewayError invalid_request (400) unless `limit` is an integer in 1..1000. */
export function assertListLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw errors.invalidRequest(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}.`);
  }
}
