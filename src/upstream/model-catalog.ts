import { text as readText } from 'node:stream/consumers';
import { errors } from '../errors.js';
import type { UpstreamClient } from './client.js';
import { requestWithKeyFailover } from './key-failover.js';
import { mapUpstreamError } from './map-error.js';

/**
 * xAI's model lists (`/v1/models`, `/v1/language-models`, …), fetched with an upstream key and cached briefly:
 * the gateway answers the model routes itself (docs/api.md), so a burst of clients listing models costs xAI one call.
 */
export interface ModelCatalog {
  /** The parsed JSON of an xAI list path such as `/v1/language-models`. */
  list(path: string): Promise<unknown>;
  /**
   * Whether xAI's lists, as cached from clients' own model listings, name this model (an id or an alias). Never
   * waits and never asks xAI: false for a model no listing has shown yet.
   */
  knows(model: string): boolean;
}

/** The lists whose ids and aliases are the models xAI knows. */
const MODEL_LISTS = ['/v1/language-models', '/v1/image-generation-models', '/v1/video-generation-models', '/v1/embedding-models'];

function modelNamesOf(list: unknown): string[] {
  if (typeof list !== 'object' || list === null) return [];
  const body = list as Record<string, unknown>;
  const entries = Array.isArray(body['models']) ? body['models'] : Array.isArray(body['data']) ? body['data'] : [];
  const names: string[] = [];
  for (const entry of entries as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { id, aliases } = entry as Record<string, unknown>;
    if (typeof id === 'string') names.push(id);
    if (Array.isArray(aliases)) for (const alias of aliases) if (typeof alias === 'string') names.push(alias);
  }
  return names;
}

export interface ModelCatalogOptions {
  upstream: UpstreamClient;
  ttlMs: number;
  now?: () => number;
  /** Told when xAI refused an upstream key (its label, never the key), for the operator's log. */
  onKeyRefused?: (label: string, status: number) => void;
}

export function createModelCatalog(options: ModelCatalogOptions): ModelCatalog {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { value: unknown; expiresAtMs: number }>();
  const inFlight = new Map<string, Promise<unknown>>();

  async function fetchList(path: string): Promise<unknown> {
    let text: string;
    let status: number;
    try {
      // Same key rules as forwarded requests: a refused key is set aside and the next one tried (docs/api.md).
      // The list, body included, within 30 s.
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), 30_000);
      timer.unref();
      try {
        const response = await requestWithKeyFailover(
          options.upstream,
          { method: 'GET', path, clientHeaders: { accept: 'application/json' }, body: null, controller },
          options.onKeyRefused === undefined ? {} : { onKeyRefused: options.onKeyRefused },
        );
        status = response.statusCode;
        text = await readText(response.body);
      } finally {
        clearTimeout(timer);
      }
    } catch (err) {
      throw mapUpstreamError(err);
    }
    if (status !== 200) throw errors.upstreamError(`The upstream model list answered HTTP ${status}.`);
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw errors.upstreamError('The upstream model list was not valid JSON.', err);
    }
  }

  const catalog: ModelCatalog = {
    knows(model) {
      for (const path of MODEL_LISTS) {
        const hit = cache.get(path);
        if (hit !== undefined && modelNamesOf(hit.value).includes(model)) return true;
      }
      return false;
    },
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
  return catalog;
}
