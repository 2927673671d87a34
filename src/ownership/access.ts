import { OBJECT_KINDS, type ListCursor, type ObjectKind, type ObjectOwner, type UpFrontCharge } from './types.js';

/**
 * The ids xAI gives objects (`file_…`, `batch_…`, uuids with a region suffix): the same shape the route table
 * accepts as a path parameter. Anything else cannot name an object the gateway recorded, so it is answered
 * "not found" without a store read.
 */
export const OBJECT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * Who may reach an object (docs/isolation.md): the key that created it, and the key that minted that key. Not a
 * sibling, not a child reaching its parent's objects, not any other key; an object of another kind (a video's
 * id used as a response id) or one without a record (created outside the gateway, unknown, expired) neither.
 */
export function mayReach(owner: ObjectOwner | null, kind: ObjectKind, keyId: string): boolean {
  return owner !== null && owner.kind === kind && (owner.ownerId === keyId || owner.ownerParentId === keyId);
}

const DAY_MS = 86_400_000;
/** xAI keeps stored responses 30 days (`store` default true). */
const RESPONSE_RETENTION_MS = 30 * DAY_MS;
/** A deferred result can be fetched within 24 hours, then xAI discards it. */
const DEFERRED_RETENTION_MS = DAY_MS;
/** xAI documents no retention for generated videos; their results are fetched within minutes in practice. */
const VIDEO_RETENTION_MS = 30 * DAY_MS;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

/**
 * The id a creation answer gives the new object, or null when the answer names none (then nothing is recorded
 * and nothing can be reached later). Batches carry `batch_id` (and `id` in some answers); deferred chats and
 * videos answer `{request_id}`.
 */
export function createdObjectId(kind: ObjectKind, answer: unknown): string | null {
  if (!isObject(answer)) return null;
  const candidates: unknown[] =
    kind === 'deferred' || kind === 'video' ? [answer['request_id']] : kind === 'batch' ? [answer['batch_id'], answer['id']] : [answer['id']];
  for (const candidate of candidates) if (typeof candidate === 'string' && OBJECT_ID_RE.test(candidate)) return candidate;
  return null;
}

/**
 * When a record lapses with its object: a file's own `expires_at` (or never), a stored response 30 days after
 * its creation, a deferred result after 24 hours; batches have no documented end and are kept until deleted.
 */
export function objectExpiresAtMs(kind: ObjectKind, answer: unknown, nowMs: number): number | null {
  switch (kind) {
    case 'file': {
      const at = isObject(answer) ? positiveNumber(answer['expires_at']) : null;
      return at === null ? null : at * 1000;
    }
    case 'response': {
      const created = isObject(answer) ? positiveNumber(answer['created_at']) : null;
      return (created === null ? nowMs : created * 1000) + RESPONSE_RETENTION_MS;
    }
    case 'deferred':
      return nowMs + DEFERRED_RETENTION_MS;
    case 'video':
      return nowMs + VIDEO_RETENTION_MS;
    case 'batch':
      return null;
  }
}

/** A stored record: short field names, as there is one per object xAI keeps. */
interface StoredOwner {
  k: ObjectKind;
  o: string;
  p: string | null;
  c: number;
  e: number | null;
  /** The up-front charge as [promptTokens, completionTokens, costTicks], when there is one. */
  r?: [number, number, number];
  /** The up-front charge's model, when there is one and it names a model. */
  m?: string;
}

export function encodeOwner(owner: ObjectOwner): string {
  const stored: StoredOwner = { k: owner.kind, o: owner.ownerId, p: owner.ownerParentId, c: owner.createdAtMs, e: owner.expiresAtMs };
  if (owner.upFront !== null) {
    stored.r = [owner.upFront.promptTokens, owner.upFront.completionTokens, owner.upFront.costTicks];
    if (owner.upFront.model !== null) stored.m = owner.upFront.model;
  }
  return JSON.stringify(stored);
}

/** A stored JSON object, or null for none, broken JSON or anything but an object. */
function storedObject(text: string | null): Json | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

/** The record stored for `id`, or null for anything malformed: a corrupt record reaches nobody. */
export function decodeOwner(id: string, text: string | null): ObjectOwner | null {
  const value = storedObject(text);
  if (value === null) return null;
  const { k, o, p, c, e, r, m } = value;
  if (typeof k !== 'string' || !(OBJECT_KINDS as readonly string[]).includes(k) || typeof o !== 'string' || o === '') return null;
  if (!(p === null || typeof p === 'string') || typeof c !== 'number' || !(e === null || typeof e === 'number')) return null;
  const upFront = upFrontOf(r, m);
  if (upFront === undefined) return null;
  return { id, kind: k as ObjectKind, ownerId: o, ownerParentId: p, createdAtMs: c, expiresAtMs: e, upFront };
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** A stored up-front charge: null for none, undefined for a malformed one. */
function upFrontOf(r: unknown, m: unknown): UpFrontCharge | null | undefined {
  if (r === undefined) return null;
  if (!(m === undefined || typeof m === 'string')) return undefined;
  // Records written before the charge had tokens held the reserved cost alone.
  if (isCount(r)) return { model: m ?? null, promptTokens: 0, completionTokens: 0, costTicks: r };
  if (!Array.isArray(r) || r.length !== 3 || !r.every(isCount)) return undefined;
  const [promptTokens, completionTokens, costTicks] = r as [number, number, number];
  return { model: m ?? null, promptTokens, completionTokens, costTicks };
}

/** Cursor tokens: random, so a token says nothing about the objects or the xAI page it stands for. */
export const CURSOR_TOKEN_RE = /^xgwpage_[A-Za-z0-9_-]{32}$/;

export function encodeCursor(cursor: ListCursor): string {
  return JSON.stringify(cursor);
}

export function decodeCursor(text: string | null): ListCursor | null {
  const value = storedObject(text);
  if (value === null) return null;
  const { keyId, kind, upstreamToken, skip, afterId, query } = value;
  if (typeof keyId !== 'string' || typeof kind !== 'string' || !(OBJECT_KINDS as readonly string[]).includes(kind)) return null;
  if (!(upstreamToken === null || typeof upstreamToken === 'string') || typeof query !== 'string') return null;
  if (typeof skip !== 'number' || !Number.isSafeInteger(skip) || skip < 0 || !(afterId === null || typeof afterId === 'string')) return null;
  return { keyId, kind: kind as ObjectKind, upstreamToken, skip, afterId, query };
}
