/**
 * Model listings and GET /v1/api-key of the fake (docs/upstream.md §3.5, §3.10). docs/api.md has the gateway answer
 * these itself from xAI's lists, so they must look like xAI's.
 */
import { sendError, sendJson } from './fake-context.js';
import type { FakeCtx } from './fake-context.js';
import { RECORDED_API_KEY } from './fixtures.js';
import { FAKE_MODELS, fullModelEntry, minimalModelEntry, modelsOfKind, resolveModel } from './models.js';
import type { FakeModel, ModelKind } from './models.js';

function findAnyKind(name: string): FakeModel | undefined {
  const kinds: ModelKind[] = ['language', 'image', 'video', 'embedding'];
  for (const kind of kinds) {
    const m = resolveModel(name, kind);
    if (m) return m;
  }
  return undefined;
}

export async function handleListModels(ctx: FakeCtx): Promise<void> {
  await sendJson(ctx, 200, { data: FAKE_MODELS.map(minimalModelEntry), object: 'list' });
}

export async function handleGetModel(ctx: FakeCtx): Promise<void> {
  const id = decodeURIComponent(ctx.params[0] ?? '');
  const model = findAnyKind(id);
  if (!model) return sendError(ctx, 404, 'not-found', `Model ${id} not found.`);
  return sendJson(ctx, 200, minimalModelEntry(model));
}

/** Handlers for `/v1/<kind>-models` and `/v1/<kind>-models/:id` (`{"models":[...]}`, not `data`). */
export function catalogHandlers(kind: ModelKind): {
  list: (ctx: FakeCtx) => Promise<void>;
  get: (ctx: FakeCtx) => Promise<void>;
} {
  return {
    list: (ctx) => sendJson(ctx, 200, { models: modelsOfKind(kind).map(fullModelEntry) }),
    get: async (ctx) => {
      const id = decodeURIComponent(ctx.params[0] ?? '');
      const model = resolveModel(id, kind);
      if (!model) return sendError(ctx, 404, 'not-found', `Model ${id} not found.`);
      return sendJson(ctx, 200, fullModelEntry(model));
    },
  };
}

/** The recorded record of §3.10 with the caller's key redacted the way xAI shows it ("xai-...b14o"). */
export async function handleApiKey(ctx: FakeCtx): Promise<void> {
  const record = JSON.parse(RECORDED_API_KEY) as Record<string, unknown>;
  const key = ctx.apiKey;
  const redacted = key.length > 8 ? `${key.slice(0, 4)}...${key.slice(-4)}` : '***';
  await sendJson(ctx, 200, { ...record, redacted_api_key: redacted });
}
