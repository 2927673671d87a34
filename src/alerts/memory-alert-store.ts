import { MAX_DELIVERIES, type AlertStore, type Delivery } from './types.js';

export function createMemoryAlertStore(now: () => number = Date.now): AlertStore {
  const claims = new Map<string, number>();
  const deliveries = new Map<string, Delivery>();
  return {
    async claim(id, ttlMs) {
      const at = now();
      const until = claims.get(id);
      if (until !== undefined && until > at) return false;
      claims.set(id, at + ttlMs);
      return true;
    },
    async saveDelivery(delivery) {
      deliveries.delete(delivery.id);
      deliveries.set(delivery.id, { ...delivery });
      while (deliveries.size > MAX_DELIVERIES) deliveries.delete(deliveries.keys().next().value as string);
    },
    async listDeliveries(limit) {
      return [...deliveries.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0)).slice(0, limit);
    },
  };
}
