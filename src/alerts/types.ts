import type { AlertEventType } from '../config/types.js';

/** What a webhook receives as its JSON body (docs/alerts.md). */
export interface AlertEvent {
  /** The same for the same occurrence on every instance, so it is sent once however many notice it. */
  id: string;
  type: AlertEventType;
  at: string;
  keyId: string;
  data: Record<string, unknown>;
}

/** One event's delivery to one webhook, as `GET /admin/alerts` lists it. */
export interface Delivery {
  /** `<event id>:<webhook id>`. */
  id: string;
  eventId: string;
  type: AlertEventType;
  keyId: string;
  /** The webhook's URL without its query (which may carry a receiver's token). */
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  tries: number;
  /** The receiver's last HTTP status, or null when it could not be reached. */
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface AlertStore {
  /** True for the first caller only, across every instance: that one sends. Forgotten after ttlMs. */
  claim(id: string, ttlMs: number): Promise<boolean>;
  saveDelivery(delivery: Delivery): Promise<void>;
  /** Newest first. */
  listDeliveries(limit: number): Promise<Delivery[]>;
}

/** Deliveries kept for GET /admin/alerts. */
export const MAX_DELIVERIES = 500;
