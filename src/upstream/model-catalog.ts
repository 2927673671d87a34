import { text as readText } from 'node:stream/consumers';
import { errors } from '../errors.js';
import { buildUpstreamHeaders } from './headers.js';
import { isUpstreamKeyFailure, mapUpstreamError } from './map-error.js';
import type { UpstreamClient } from './client.js';

/**
 * xAI's model lists (`/v1/models`, `/v1/language-models`, …), fetched with an upstream key and cached briefly:
 * the gateway answers the model routes itself (SPEC §4), so a burst of clients listing models costs xAI one call.
 */
export interface ModelCatalog {
  /** The parsed JSON of an xAI list path such as `/v1/language-models`. */
  list(path: string): Promise<unknown>;
}

export function createModelCatalog(options: { upstream: UpstreamClient; ttlMs: number; now?: () => number }): ModelCatalog {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { value: unknown; expiresAtMs: number }>();
  const inFlight = new Map<string, Promise<unknown>>();

  async function fetchList(path: string): Promise<unknown> {
    const key = options.upstream.pickKey();
    if (key === null) throw errors.upstreamError('No upstream API key is available on this gateway.');
    let text: string;
    let status: number;
    try {
      const response = await options.upstream.request({
        method: 'GET',
        path,
        headers: buildUpstreamHeaders({ accept: 'application/json' }, key),
        body: null,
        signal: AbortSignal.timeout(30_000),
      });
      status = response.statusCode;
      text = await readText(response.body);
    } catch (err) {
      throw mapUpstreamError(err);
    }
    if (isUpstreamKeyFailure(status, text)) {
      options.upstream.setAside(key);
      throw errors.upstreamError("The upstream API refused this gateway's credentials.");
    }
    if (status !== 200) throw errors.upstreamError(`The upstream model list answered HTTP ${status}.`);
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw errors.upstreamError('The upstream model list was not valid JSON.', err);
    }
  }

  return {
    async list(path) {
      const hit = cache.get(path);
      if (hit !== undefined && hit.expiresAtMs > now()) return hit.value;
      const pending = inFlight.get(path);
      if (pending !== undefined) return pending;
      const promise = fetchList(path)
        .then((value) => {
          cache.set(path, { value, expiresAtMs: now() + options.ttlMs });
          return value;
        })
        .finally(() => inFlight.delete(path));
      inFlight.set(path, promise);
      return promise;
    },
  };
}
