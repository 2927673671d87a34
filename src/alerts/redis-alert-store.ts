import type { Cluster, Redis } from 'ioredis';
import { MAX_DELIVERIES, type AlertStore, type Delivery } from './types.js';

/**
 * Alerts on Redis. Claims are `<prefix>v2:alert:<id>` strings set NX with a TTL; deliveries are a hash
 * `<prefix>v2:{alerts}:deliveries` (id → JSON) with an index `<prefix>v2:{alerts}:dindex` (id → created ms),
 * one hash tag so a Cluster keeps both in one slot and a MULTI can update them together.
 */
export function createRedisAlertStore(options: { redis: Redis | Cluster; prefix: string }): AlertStore {
  const { redis, prefix } = options;
  const deliveriesKey = `${prefix}v2:{alerts}:deliveries`;
  const indexKey = `${prefix}v2:{alerts}:dindex`;
  return {
    async claim(id, ttlMs) {
      return (await redis.set(`${prefix}v2:alert:${id}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
    },
    async saveDelivery(delivery) {
      const results = await redis
        .multi()
        .hset(deliveriesKey, delivery.id, JSON.stringify(delivery))
        .zadd(indexKey, Date.parse(delivery.createdAt), delivery.id)
        .exec();
      for (const [error] of results ?? []) if (error) throw error;
      // Older deliveries beyond the cap leave both structures.
      const excess = await redis.zrange(indexKey, 0, -(MAX_DELIVERIES + 1));
      if (excess.length > 0) await redis.multi().zrem(indexKey, ...excess).hdel(deliveriesKey, ...excess).exec();
    },
    async listDeliveries(limit) {
      const ids = await redis.zrevrange(indexKey, 0, limit - 1);
      if (ids.length === 0) return [];
      const values = await redis.hmget(deliveriesKey, ...ids);
      const deliveries: Delivery[] = [];
      for (const value of values) {
        if (value === null) continue;
        try {
          deliveries.push(JSON.parse(value) as Delivery);
        } catch {
          // Not one of ours.
        }
      }
      return deliveries;
    },
  };
}
