/**
 * OwnershipStore on Redis or Redis Cluster. Layout (`P` = the configured prefix, e.g. "xgw:"):
 *
 *   P v1:obj:{<object id>}      string  the owner record (access.ts encodeOwner); PEXPIREAT when the object ends
 *   P v1:obj:{<object id>}:settled  string  present once the result has been charged (SET NX), same expiry
 *   P v1:objpage:{<token>}      string  a list cursor (access.ts encodeCursor); PX its time to live
 *
 * Each record carries its own hash tag, so every check is one GET of one slot, on a Cluster too; the ids a
 * request names are read in one go (pipelined by the client, one GET each). Any Redis failure rejects; the
 * store's guard (src/store-errors.ts) maps it to 503 store_unavailable.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { decodeCursor, decodeOwner, encodeCursor, encodeOwner, CURSOR_TOKEN_RE } from './access.js';
import type { ListCursor, OwnershipStore } from './types.js';

export function ownerRedisKey(prefix: string, id: string): string {
  return `${prefix}v1:obj:{${id}}`;
}

function cursorRedisKey(prefix: string, token: string): string {
  return `${prefix}v1:objpage:{${token}}`;
}

export function createRedisOwnershipStore(options: { redis: Redis | Cluster; prefix: string }): OwnershipStore {
  const { redis, prefix } = options;
  return {
    async record(owner) {
      const key = ownerRedisKey(prefix, owner.id);
      const value = encodeOwner(owner);
      if (owner.expiresAtMs === null) await redis.set(key, value);
      else await redis.set(key, value, 'PXAT', Math.max(1, Math.ceil(owner.expiresAtMs)));
    },
    async getMany(ids) {
      // One GET per id rather than an MGET: the ids live in different slots of a Cluster.
      const texts = await Promise.all(ids.map((id) => redis.get(ownerRedisKey(prefix, id))));
      return texts.map((text, i) => decodeOwner(ids[i] ?? '', text));
    },
    async forget(id) {
      await redis.del(ownerRedisKey(prefix, id));
    },
    async claimSettlement(id, expiresAtMs) {
      const key = `${ownerRedisKey(prefix, id)}:settled`;
      const set = expiresAtMs === null ? await redis.set(key, '1', 'NX') : await redis.set(key, '1', 'PXAT', Math.max(1, Math.ceil(expiresAtMs)), 'NX');
      return set === 'OK';
    },
    async saveCursor(cursor: ListCursor, ttlMs: number) {
      const token = `xgwpage_${randomBytes(24).toString('base64url')}`;
      await redis.set(cursorRedisKey(prefix, token), encodeCursor(cursor), 'PX', Math.max(1, Math.ceil(ttlMs)));
      return token;
    },
    async loadCursor(token) {
      if (!CURSOR_TOKEN_RE.test(token)) return null;
      return decodeCursor(await redis.get(cursorRedisKey(prefix, token)));
    },
  };
}
