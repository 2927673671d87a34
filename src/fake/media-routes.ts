/**
 * Fake endpoints besides chat/responses/files: embeddings, images, videos, tokenize-text, documents search,
 * TTS, realtime client secrets and the removed Anthropic endpoints (docs/upstream.md §3.4, §3.6–§3.9, §3.11, §3.15).
 */
import { createHash, randomUUID } from 'node:crypto';
import { modelNotFound, readJsonBody, report, sendError, sendJson, sendRaw } from './fake-context.js';
import type { FakeCtx } from './fake-context.js';
import { FAKE_TEAM, IMAGE_PRICE_TICKS, resolveModel, VIDEO_PRICE_TICKS_PER_SECOND } from './models.js';
import type { FakeModel, ModelKind } from './models.js';

async function modelOf(
  ctx: FakeCtx,
  body: Record<string, unknown>,
  kind: ModelKind,
  fallback: string,
): Promise<FakeModel | null> {
  const name = typeof body['model'] === 'string' ? body['model'] : fallback;
  const model = resolveModel(name, kind);
  if (!model) await modelNotFound(ctx, name, FAKE_TEAM);
  return model ?? null;
}

function missingField(ctx: FakeCtx, field: string): Promise<void> {
  return sendRaw(ctx, {
    status: 422,
    body: `Failed to deserialize the JSON body into the target type: missing field \`${field}\``,
    contentType: 'text/plain; charset=utf-8',
  });
}

function smallInt(v: unknown, min: number, max: number, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) ? Math.min(max, Math.max(min, v)) : fallback;
}

/** /v1/messages and /v1/complete were removed on 2026-02-20 (docs/upstream.md §10); 410 body not captured. */
export async function handleGone(ctx: FakeCtx): Promise<void> {
  await sendError(
    ctx,
    410,
    'failed-precondition',
    'The Anthropic-compatible endpoints were removed on 2026-02-20. Use /v1/responses or /v1/chat/completions.',
  );
}

function tokensOfEmbeddingInput(input: unknown): number[] {
  const items = Array.isArray(input) && input.every((x) => typeof x === 'number') ? [input] : Array.isArray(input) ? input : [input];
  return items.map((item) => (typeof item === 'string' ? Math.max(1, Math.ceil(item.length / 4)) : Array.isArray(item) ? item.length : 1));
}

/** Embeddings usage has no cost field in the spec (docs/upstream.md §3.6), so only tokens are reported. */
export async function handleEmbeddings(ctx: FakeCtx): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!body) return;
  if (body['input'] === undefined) return missingField(ctx, 'input');
  const model = await modelOf(ctx, body, 'embedding', 'v1');
  if (!model) return;
  const tokens = tokensOfEmbeddingInput(body['input']);
  const total = tokens.reduce((a, b) => a + b, 0);
  const base64 = body['encoding_format'] === 'base64';
  const data = tokens.map((t, index) => {
    const vector = [0.0156 * (t % 7), 0.0632, 0.0459];
    // base64 = the vector's float32 values, little-endian (what the openai SDK asks for by default and decodes).
    const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    return { index, embedding, object: 'embedding' };
  });
  await sendJson(ctx, 200, { object: 'list', model: model.id, data, usage: { prompt_tokens: total, total_tokens: total } });
  if (!ctx.isClosed()) report(ctx.state, { totalTokens: total, costTicks: 0 });
}

/** generations and edits share one answer shape (docs/upstream.md §3.7); cost per image. */
export async function handleImages(ctx: FakeCtx): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!body) return;
  if (typeof body['prompt'] !== 'string') return missingField(ctx, 'prompt');
  const model = await modelOf(ctx, body, 'image', 'grok-imagine-image');
  if (!model) return;
  const n = smallInt(body['n'], 1, 10, 1);
  const b64 = body['response_format'] === 'b64_json';
  const id = randomUUID();
  const data = Array.from({ length: n }, (_, i) =>
    b64
      ? { b64_json: Buffer.from(`fake-image-${id}-${i}`).toString('base64'), mime_type: 'image/jpeg' }
      : { url: `https://imgen.x.ai/fake/${id}-${i}.jpg`, mime_type: 'image/jpeg' },
  );
  const costTicks = n * IMAGE_PRICE_TICKS;
  await sendJson(ctx, 200, { data, usage: { cost_in_usd_ticks: costTicks } });
  if (!ctx.isClosed()) report(ctx.state, { totalTokens: 0, costTicks });
}

/** generations, edits, extensions: async, answered with {request_id} (docs/upstream.md §3.8). */
export async function handleCreateVideo(ctx: FakeCtx): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!body) return;
  if (typeof body['prompt'] !== 'string') return missingField(ctx, 'prompt');
  const model = await modelOf(ctx, body, 'video', 'grok-imagine-video');
  if (!model) return;
  const duration = smallInt(body['duration'], 1, 15, 8);
  const id = randomUUID();
  const costTicks = duration * VIDEO_PRICE_TICKS_PER_SECOND;
  ctx.state.videos.set(id, {
    polls: 0,
    delivered: false,
    body: {
      status: 'done',
      progress: 100,
      video: { url: `https://vidgen.x.ai/fake/${id}.mp4`, duration, respect_moderation: true },
      model: model.id,
      usage: { cost_in_usd_ticks: costTicks },
    },
    emitted: { totalTokens: 0, costTicks },
  });
  await sendJson(ctx, 200, { request_id: id });
}

/** 202 on the first poll, then 200 done; the cost is reported on the first 200 only. */
export async function handleGetVideo(ctx: FakeCtx): Promise<void> {
  const id = ctx.params[0] ?? '';
  const video = ctx.state.videos.get(id);
  if (!video) return sendError(ctx, 404, 'not-found', `No video generation with request id ${id}.`);
  video.polls += 1;
  if (video.polls === 1) return sendJson(ctx, 202, { status: 'pending', progress: 0 });
  const first = !video.delivered;
  video.delivered = true;
  await sendJson(ctx, 200, video.body);
  if (first) report(ctx.state, video.emitted);
}

function tokenId(s: string): number {
  return createHash('sha256').update(s).digest().readUInt32BE(0) % 131_072;
}

/** Word / punctuation tokens with their leading space, like the §3.9 example ("Hello", " world", "!"). */
export async function handleTokenize(ctx: FakeCtx): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!body) return;
  if (typeof body['text'] !== 'string') return missingField(ctx, 'text');
  const model = await modelOf(ctx, body, 'language', 'grok-3');
  if (!model) return;
  const pieces = body['text'].match(/\s*(?:\w+|[^\w\s])|\s+$/g) ?? [];
  const tokenIds = pieces.map((p) => ({ token_id: tokenId(p), string_token: p, token_bytes: [...Buffer.from(p, 'utf8')] }));
  await sendJson(ctx, 200, { token_ids: tokenIds });
}

export async function handleDocumentsSearch(ctx: FakeCtx): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!body) return;
  if (typeof body['query'] !== 'string') return missingField(ctx, 'query');
  const source = body['source'];
  const ids =
    typeof source === 'object' && source !== null && Array.isArray((source as Record<string, unknown>)['collection_ids'])
      ? ((source as Record<string, unknown>)['collection_ids'] as unknown[])
      : [];
  const match = {
    file_id: 'file_fake-0000',
    chunk_id: randomUUID(),
    chunk_content: `A fake chunk about ${body['query']}.`,
    score: 1.0,
    collection_ids: ids,
    fields: {},
    page_number: 0,
  };
  await sendJson(ctx, 200, { matches: [match] });
}

/** Audio bytes plus x-trace-id; TTS errors use `{"error"}` only (docs/upstream.md §3.15, §6.2). */
export async function handleTts(ctx: FakeCtx): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!body) return;
  if (typeof body['text'] !== 'string' || body['text'] === '') {
    return sendJson(ctx, 400, { error: 'text must be a non-empty string' });
  }
  // An MPEG audio frame header followed by silence: enough for clients that sniff the format.
  const audio = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(412)]);
  await sendRaw(ctx, { status: 200, body: audio, contentType: 'audio/mpeg', headers: { 'x-trace-id': randomUUID() } });
}

/** Ephemeral token for browser voice clients (docs/upstream.md §3.15). */
export async function handleClientSecrets(ctx: FakeCtx): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!body) return;
  const after = body['expires_after'];
  const requested =
    typeof after === 'object' && after !== null ? (after as Record<string, unknown>)['seconds'] : undefined;
  const seconds = smallInt(requested, 1, 3600, 600);
  await sendJson(ctx, 200, { value: `xai-eph-${randomUUID()}`, expires_at: Math.floor(Date.now() / 1000) + seconds });
}
