import type { ModelPrice } from '../config/types.js';
import { costTicksFor } from './cost.js';
import { usdToTicks } from './types.js';

type Pricing = Readonly<Record<string, ModelPrice>>;

/** What an admission reserves (docs/api.md): prompt estimate plus output cap, and their cost plus a media price. */
export interface ReservationEstimate {
  promptTokens: number;
  completionTokens: number;
  costTicks: number;
}

export const NOTHING_RESERVED: ReservationEstimate = { promptTokens: 0, completionTokens: 0, costTicks: 0 };

export function reservationEstimate(input: { promptTokens: number; outputCapTokens: number; price: ModelPrice | undefined; mediaTicks: number }): ReservationEstimate {
  const { promptTokens, outputCapTokens: completionTokens } = input;
  const tokenTicks = costTicksFor({ promptTokens, cachedTokens: 0, completionTokens, reasoningTokens: 0 }, input.price);
  return { promptTokens, completionTokens, costTicks: tokenTicks + input.mediaTicks };
}

/**
 * The price used when xAI sends no cost: the model's own, else the dearest configured one, so that cost budgets
 * are reserved conservatively for models missing from `pricing`. Looked up as own entries only: a model named
 * `constructor` finds no price of Object's.
 */
export function priceFor(pricing: Pricing, model: string | null): ModelPrice | undefined {
  if (model !== null && Object.hasOwn(pricing, model)) return pricing[model];
  let dearest: ModelPrice | undefined;
  for (const price of Object.values(pricing)) if (dearest === undefined || price.output > dearest.output) dearest = price;
  return dearest;
}

/**
 * A media request's price before xAI reports it (docs/api.md): `units` images × the model's `perImage`, or seconds
 * of video × `perVideoSecond`; for a model without its own, the dearest configured, so that a cost budget is never
 * overrun by models missing from `pricing`. Looked up as own entries only.
 */
export function mediaReserveTicks(pricing: Pricing, media: 'images' | 'videos', model: string | null, units: number): number {
  if (units === 0) return 0;
  const field = media === 'images' ? 'perImage' : 'perVideoSecond';
  const own = model !== null && Object.hasOwn(pricing, model) ? pricing[model]?.[field] : undefined;
  const perUnit = own ?? Math.max(0, ...Object.values(pricing).map((p) => p[field] ?? 0));
  return usdToTicks(perUnit * units);
}
