/**
 * KeyStore on Redis or Redis Cluster. Layout (`P` = the configured prefix, e.g. "xgw:"):
 *
 *   P v1:key:{<id>}           string  the KeyRecord as JSON (never a secret)
 *   P v1:key:{<id>}:secrets   set     every secret hash this key has had and not yet dropped
 *   P v1:key:{<id>}:children  set     ids of the key's child keys (docs/api.md)
 *   P v1:secret:<sha256>      string  → id; PEXPIREAT bounds a hash kept for rotation grace
 *   P v1:keys                 zset    score createdAt (epoch ms), member id: the list order
 *
 * The `{<id>}` hash tag keeps one key's own entries in one Cluster slot (docs/operations.md). Nothing here runs a
 * multi-key command or script across tags: each Lua script below touches one key, so every call is
 * Cluster-safe. A create therefore spans several slots and is made race-safe by `SET NX` on the record
 * and on the hash index (first claim wins, the loser undoes its record); a failure midway can leave a
 * record that is not listed, never a hash that authenticates as the wrong key.
 *
 * Records are validated on every read: corrupt or foreign JSON is "no such key". A Redis failure rejects as
 * ioredis reported it (src/store-errors.ts maps it to 503 store_unavailable); the caller builds the client to fail fast (e.g.
 * `maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout`), this module never builds one.
 */
import type { Cluster, Redis } from 'ioredis';
import { errors } from '../errors.js';
import { applyKeyPatch } from './apply-key-patch.js';
import { assertValidKeyRecord, parseKeyRecordJson } from './key-record-schema.js';
import {
  assertListLimit,
  compareListPositions,
  decodeListCursor,
  encodeListCursor,
  type ListPosition,
  listPositionOf,
} from './key-list-cursor.js';
import { KeyStoreConflictError } from './types.js';
import type { KeyPage, KeyPatch, KeyRecord, KeyStore } from './types.js';

/**
 * KEYS[1] secret index; ARGV[1] id; ARGV[2] expiry epoch ms, or '' for none.
 * Points the hash at the id unless another id holds it; sets (or clears) its expiry. Returns 1, or 0 if taken.
 */
const CLAIM_SECRET_LUA = `
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return 1`;

/** KEYS[1] secret index; ARGV[1] id. Deletes the index only if it still points at the id. Returns 1 or 0. */
const RELEASE_SECRET_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * KEYS[1] secret index; ARGV[1] id; ARGV[2] expiry epoch ms. If the index points at the id, bounds its life
 * to ARGV[2] unless it already ends earlier (PEXPIREAT LT, Redis 7; no expiry counts as infinite). Returns 1 or 0.
 */
const BOUND_SECRET_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIREAT', KEYS[1], ARGV[2], 'LT') end
return 0`;

/** KEYS[1] record; ARGV[1] expected JSON; ARGV[2] new JSON. Compare-and-set. Returns 1, or 0 if it changed meanwhile. */
const REPLACE_RECORD_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end
return 0`;

const UPDATE_ATTEMPTS = 10;

type ScriptCall = (key: string, ...args: string[]) => Promise<unknown>;

function defineScript(redis: Redis | Cluster, name: string, lua: string): ScriptCall {
  // defineCommand adds a method to the client (EVALSHA with EVAL fallback); the same name may already be there
  // from another store on the same client, with the same script.
  if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 1, lua });
  const command = (redis as unknown as Record<string, ScriptCall | undefined>)[name];
  if (command === undefined) throw new Error(`Redis script ${name} could not be defined.`);
  return (key, ...args) => command.call(redis, key, ...args);
}

function keyNames(prefix: string) {
  return {
    record: (id: string) => `${prefix}v1:key:{${id}}`,
    secrets: (id: string) => `${prefix}v1:key:{${id}}:secrets`,
    children: (id: string) => `${prefix}v1:key:{${id}}:children`,
    secret: (secretHash: string) => `${prefix}v1:secret:${secretHash}`,
    list: `${prefix}v1:keys`,
  };
}

function assertTaggable(what: string, value: string): void {
  // A brace would change which part of the name Redis Cluster hashes (the hash tag).
  if (value.includes('{') || value.includes('}')) throw new TypeError(`${what} must not contain "{" or "}".`);
}

function assertExpiry(expiresAtMs: number): string {
  if (!Number.isSafeInteger(expiresAtMs)) throw new TypeError('expiresAtMs must be an integer epoch in milliseconds.');
  return String(expiresAtMs);
}

export function createRedisKeyStore(options: { redis: Redis | Cluster; prefix: string }): KeyStore {
  const { redis } = options;
  assertTaggable('The Redis key prefix', options.prefix);
  const k = keyNames(options.prefix);
  const claimSecret = defineScript(redis, 'xgwKeysClaimSecret', CLAIM_SECRET_LUA);
  const releaseSecret = defineScript(redis, 'xgwKeysReleaseSecret', RELEASE_SECRET_LUA);
  const boundSecret = defineScript(redis, 'xgwKeysBoundSecret', BOUND_SECRET_LUA);
  const replaceRecord = defineScript(redis, 'xgwKeysReplaceRecord', REPLACE_RECORD_LUA);

  async function readRecord(id: string): Promise<{ record: KeyRecord; json: string } | null> {
    const json = await redis.get(k.record(id));
    const record = parseKeyRecordJson(json);
    // A record stored under another id's name is as foreign as corrupt JSON.
    return record === null || json === null || record.id !== id ? null : { record, json };
  }

  async function getRecord(id: string): Promise<KeyRecord | null> {
    return (await readRecord(id))?.record ?? null;
  }

  async function assertExists(id: string): Promise<void> {
    if ((await redis.exists(k.record(id))) === 0) throw errors.notFound('No such key.');
  }

  /** The first `count` list positions strictly after `after`; equal scores are skipped page by page. */
  async function positionsAfter(after: ListPosition | null, count: number): Promise<ListPosition[]> {
    const min = after === null ? '-inf' : String(after.createdAtMs);
    const found: ListPosition[] = [];
    for (let offset = 0; found.length < count; offset += count) {
      const flat = await redis.zrangebyscore(k.list, min, '+inf', 'WITHSCORES', 'LIMIT', offset, count);
      for (let i = 0; i + 1 < flat.length && found.length < count; i += 2) {
        const position = { id: flat[i] ?? '', createdAtMs: Number(flat[i + 1]) };
        if (after === null || compareListPositions(position, after) > 0) found.push(position);
      }
      if (flat.length < 2 * count) break;
    }
    return found;
  }

  async function recordsOf(ids: readonly string[]): Promise<KeyRecord[]> {
    // One GET per id, sent together: the records live in different slots, so MGET would be CROSSSLOT on Cluster.
    const records = await Promise.all(ids.map(getRecord));
    return records.filter((record): record is KeyRecord => record !== null);
  }

  const store: KeyStore = {
    async create(record: KeyRecord, secretHash: string): Promise<void> {
      assertValidKeyRecord(record);
      assertTaggable('A key id', record.id);
      const { id } = record;
      if ((await redis.set(k.record(id), JSON.stringify(record), 'NX')) === null) {
        throw new KeyStoreConflictError(`A key with id "${id}" already exists.`);
      }
      // Into the key's hash set before the index, so a hash that authenticates is always one removeSecretHashes finds.
      await redis.sadd(k.secrets(id), secretHash);
      if ((await redis.set(k.secret(secretHash), id, 'NX')) === null) {
        await redis.del(k.record(id), k.secrets(id));
        throw new KeyStoreConflictError('The secret hash is already in use.');
      }
      await Promise.all([
        record.parentId === null ? Promise.resolve(0) : redis.sadd(k.children(record.parentId), id),
        redis.zadd(k.list, String(listPositionOf(record).createdAtMs), id),
      ]);
    },

    get(id: string): Promise<KeyRecord | null> {
      return getRecord(id);
    },

    async findBySecretHash(secretHash: string): Promise<KeyRecord | null> {
      const id = await redis.get(k.secret(secretHash));
      return id === null ? null : getRecord(id);
    },

    async list(listOptions: { limit: number; cursor?: string | undefined }): Promise<KeyPage> {
      assertListLimit(listOptions.limit);
      const after = listOptions.cursor === undefined ? null : decodeListCursor(listOptions.cursor);
      const positions = await positionsAfter(after, listOptions.limit + 1);
      const page = positions.slice(0, listOptions.limit);
      const last = page.at(-1);
      // The cursor comes from the list index, not the records, so a skipped corrupt record cannot stall paging.
      const nextCursor = positions.length > listOptions.limit && last !== undefined ? encodeListCursor(last) : null;
      return { data: await recordsOf(page.map((position) => position.id)), nextCursor };
    },

    async listChildren(parentId: string): Promise<KeyRecord[]> {
      const ids = await redis.smembers(k.children(parentId));
      const children = (await recordsOf(ids)).filter((record) => record.parentId === parentId);
      return children.sort((a, b) => compareListPositions(listPositionOf(a), listPositionOf(b)));
    },

    async update(id: string, patch: KeyPatch, now: Date): Promise<KeyRecord | null> {
      // Optimistic read-modify-write with a one-key compare-and-set (WATCH is unreliable through a Cluster client).
      for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt += 1) {
        const current = await readRecord(id);
        if (current === null) return null;
        const next = applyKeyPatch(current.record, patch, now);
        assertValidKeyRecord(next);
        if ((await replaceRecord(k.record(id), current.json, JSON.stringify(next))) === 1) return next;
      }
      throw new Error(`Key ${id} kept changing during ${UPDATE_ATTEMPTS} update attempts.`);
    },

    async addSecretHash(id: string, secretHash: string, expiresAtMs: number | null): Promise<void> {
      const expiry = expiresAtMs === null ? '' : assertExpiry(expiresAtMs);
      await assertExists(id);
      await redis.sadd(k.secrets(id), secretHash);
      if ((await claimSecret(k.secret(secretHash), id, expiry)) !== 1) {
        await redis.srem(k.secrets(id), secretHash);
        throw new KeyStoreConflictError('The secret hash is already in use.');
      }
    },

    async removeSecretHashes(id: string, keep: readonly string[]): Promise<void> {
      const dropped = (await redis.smembers(k.secrets(id))).filter((hash) => !keep.includes(hash));
      if (dropped.length === 0) return;
      // Compare-and-delete: a hash whose grace ran out may since have been claimed by another key.
      await Promise.all(dropped.map((hash) => releaseSecret(k.secret(hash), id)));
      await redis.srem(k.secrets(id), ...dropped);
    },

    async expireSecretHashes(id: string, bound: { except: readonly string[]; expiresAtMs: number }): Promise<void> {
      const expiry = assertExpiry(bound.expiresAtMs);
      await assertExists(id);
      const hashes = (await redis.smembers(k.secrets(id))).filter((hash) => !bound.except.includes(hash));
      await Promise.all(hashes.map((hash) => boundSecret(k.secret(hash), id, expiry)));
    },

    async ping(): Promise<void> {
      await redis.ping();
    },
  };

  return store;
}

