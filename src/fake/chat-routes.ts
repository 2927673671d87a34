/**
 * POST /v1/chat/completions (plain, stream, deferred, recorded replays), GET /v1/chat/deferred-completion/:id
 * and POST /v1/completions of the fake (docs/upstream.md §3.1, §3.2, §4.1, §5.1).
 */
import { randomUUID } from 'node:crypto';
import {
  chunkCountOf,
  modelNotFound,
  readJsonBody,
  report,
  sendError,
  sendJson,
  sendRaw,
  writeSse,
} from './fake-context.js';
import type { FakeCtx, SseEvent } from './fake-context.js';
import {
  RECORDED_CHAT_SIMPLE,
  RECORDED_CHAT_TOOL,
  RECORDED_STREAM_REASONING,
  RECORDED_STREAM_SIMPLE,
  RECORDED_STREAM_TOOL,
} from './fixtures.js';
import type { RecordedChatStream } from './fixtures.js';
import { FAKE_TEAM, resolveModel } from './models.js';
import type { FakeModel } from './models.js';
import {
  buildChatUsage,
  contentToken,
  generatedText,
  promptTokensOfMessages,
  REASONING_TOKENS_PER_CHOICE,
} from './usage-math.js';
import type { CacheMode, EmittedUsage } from './usage-math.js';

/** The upstream's Set-Cookie, which the gateway must drop (docs/api.md Forwarding). */
export const CHAT_SET_COOKIE = 'xai_fake_session=do-not-forward; Path=/; HttpOnly';
const CHAT_HEADERS = { 'set-cookie': CHAT_SET_COOKIE };
/** Undocumented mid-stream error event (docs/upstream.md §5.1, §6.2 [GROK-GO-test]). */
const MIDSTREAM_CHAT_ERROR = 'data: {"code":"internal","error":"Please retry your request."}\n\n';
const DONE: SseEvent = { text: 'data: [DONE]\n\n' };

function dataEvent(payload: unknown, usage?: EmittedUsage): SseEvent {
  const text = `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
  return usage ? { text, usage } : { text };
}

function emittedOf(json: string): EmittedUsage {
  const parsed = JSON.parse(json) as { usage?: { total_tokens?: number; cost_in_usd_ticks?: number } };
  return { totalTokens: parsed.usage?.total_tokens ?? 0, costTicks: parsed.usage?.cost_in_usd_ticks ?? 0 };
}

function wantsUsage(body: Record<string, unknown>): boolean {
  const opts = body['stream_options'];
  return typeof opts === 'object' && opts !== null && (opts as Record<string, unknown>)['include_usage'] === true;
}

function intField(body: Record<string, unknown>, name: string): number | undefined {
  const v = body[name];
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

const RECORDED_STREAMS: Record<string, RecordedChatStream> = {
  'recorded-stream': RECORDED_STREAM_SIMPLE,
  'recorded-tool-stream': RECORDED_STREAM_TOOL,
  'recorded-reasoning-stream': RECORDED_STREAM_REASONING,
};
const RECORDED_BODIES: Record<string, string> = {
  'recorded-simple': RECORDED_CHAT_SIMPLE,
  'recorded-tool': RECORDED_CHAT_TOOL,
};

/** Replays a recorded body or stream verbatim; the stream's usage chunk only when include_usage is set. */
async function replayRecorded(ctx: FakeCtx, body: Record<string, unknown>): Promise<boolean> {
  const scenario = ctx.scenario ?? '';
  const recordedBody = RECORDED_BODIES[scenario];
  if (recordedBody !== undefined) {
    await sendJson(ctx, 200, recordedBody, CHAT_HEADERS);
    if (!ctx.isClosed()) report(ctx.state, emittedOf(recordedBody));
    return true;
  }
  const stream = RECORDED_STREAMS[scenario];
  if (!stream) return false;
  const includeUsage = wantsUsage(body);
  const events: SseEvent[] = [];
  stream.payloads.forEach((p, i) => {
    if (i !== stream.usagePayloadIndex) events.push(dataEvent(p));
    else if (includeUsage) events.push(dataEvent(p, emittedOf(p)));
  });
  events.push(DONE);
  await writeSse(ctx, events, { midstreamError: MIDSTREAM_CHAT_ERROR, headers: CHAT_HEADERS });
  return true;
}

interface Generation {
  model: FakeModel;
  n: number;
  contentTokens: number;
  finishReason: 'stop' | 'length';
  usage: Record<string, unknown>;
  emitted: EmittedUsage;
  promptTokens: number;
  reasoningTokens: number;
  cache: CacheMode;
}

function cacheModeOf(ctx: FakeCtx): CacheMode {
  if (ctx.scenario === 'cached-gt-prompt') return 'beyond-prompt';
  if (ctx.scenario === 'cached') return 'within-prompt';
  return 'none';
}

/** Plans what to generate: content tokens per choice capped by max_(completion_)tokens, reasoning outside it. */
function plan(ctx: FakeCtx, model: FakeModel, body: Record<string, unknown>, promptTokens: number): Generation {
  const n = Math.max(1, intField(body, 'n') ?? 1);
  const wanted = chunkCountOf(ctx);
  const cap = intField(body, 'max_completion_tokens') ?? intField(body, 'max_tokens');
  const contentTokens = cap === undefined ? wanted : Math.min(wanted, cap);
  const reasoningTokens = model.reasoning ? REASONING_TOKENS_PER_CHOICE * n : 0;
  const cache = cacheModeOf(ctx);
  const { usage, emitted } = buildChatUsage({
    model,
    promptTokens,
    completionTokens: contentTokens * n,
    reasoningTokens,
    cache,
  });
  return {
    model,
    n,
    contentTokens,
    finishReason: contentTokens < wanted ? 'length' : 'stop',
    usage,
    emitted,
    promptTokens,
    reasoningTokens,
    cache,
  };
}

async function requireModel(ctx: FakeCtx, body: Record<string, unknown>): Promise<FakeModel | null> {
  const name = body['model'];
  if (typeof name !== 'string') {
    await sendRaw(ctx, {
      status: 422,
      body: 'Failed to deserialize the JSON body into the target type: missing field `model`',
      contentType: 'text/plain; charset=utf-8',
    });
    return null;
  }
  const model = resolveModel(name, 'language');
  if (!model) await modelNotFound(ctx, name, FAKE_TEAM);
  return model ?? null;
}

function chatBody(g: Generation, id: string, created: number): Record<string, unknown> {
  const text = generatedText(g.contentTokens);
  const choices = Array.from({ length: g.n }, (_, index) => ({
    index,
    message: {
      role: 'assistant',
      content: text,
      ...(g.model.exposesReasoningContent ? { reasoning_content: 'Thinking about the fake answer.' } : {}),
      refusal: null,
    },
    finish_reason: g.finishReason,
  }));
  return {
    id,
    object: 'chat.completion',
    created,
    model: g.model.id,
    choices,
    usage: g.usage,
    system_fingerprint: g.model.fingerprint,
  };
}

/** Chat SSE per docs/upstream.md §5.1 (or the 2024 legacy style: cumulative usage on every chunk, no usage chunk). */
function chatEvents(g: Generation, body: Record<string, unknown>, legacy: boolean): SseEvent[] {
  const id = randomUUID();
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: g.model.id,
    choices,
    ...extra,
    system_fingerprint: g.model.fingerprint,
  });
  const cumulative = (completionTokens: number): Record<string, unknown> =>
    buildChatUsage({
      model: g.model,
      promptTokens: g.promptTokens,
      completionTokens,
      reasoningTokens: g.reasoningTokens,
      cache: g.cache,
    }).usage;
  const events: SseEvent[] = [];
  const steps = Math.max(1, g.contentTokens);
  let emittedTokens = 0;
  for (let i = 0; i < steps; i++) {
    for (let c = 0; c < g.n; c++) {
      const content = i < g.contentTokens ? contentToken(i) : '';
      if (i < g.contentTokens) emittedTokens += 1;
      const delta = i === 0 ? { content, role: 'assistant' } : { content };
      const extra = legacy ? { usage: cumulative(emittedTokens) } : {};
      events.push(dataEvent(chunk([{ index: c, delta }], extra)));
    }
  }
  for (let c = 0; c < g.n; c++) {
    const last = c === g.n - 1;
    const finish = chunk([{ index: c, delta: {}, finish_reason: g.finishReason }], legacy ? { usage: g.usage } : {});
    events.push(dataEvent(finish, legacy && last ? g.emitted : undefined));
  }
  if (!legacy && wantsUsage(body)) events.push(dataEvent(chunk([], { usage: g.usage }), g.emitted));
  events.push(DONE);
  return events;
}

export async function handleChatCompletions(ctx: FakeCtx): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!body) return;
  if (await replayRecorded(ctx, body)) return;
  const model = await requireModel(ctx, body);
  if (!model) return;
  const messages = body['messages'];
  if (!Array.isArray(messages)) {
    await sendRaw(ctx, {
      status: 422,
      body: 'Failed to deserialize the JSON body into the target type: missing field `messages`',
      contentType: 'text/plain; charset=utf-8',
    });
    return;
  }
  const g = plan(ctx, model, body, promptTokensOfMessages(messages));
  const id = randomUUID();
  const created = Math.floor(Date.now() / 1000);
  if (body['deferred'] === true) {
    ctx.state.deferred.set(id, { polls: 0, delivered: false, body: chatBody(g, id, created), emitted: g.emitted });
    await sendJson(ctx, 200, { request_id: id }, CHAT_HEADERS);
    return;
  }
  if (body['stream'] === true) {
    const events = chatEvents(g, body, ctx.scenario === 'legacy-usage');
    await writeSse(ctx, events, { midstreamError: MIDSTREAM_CHAT_ERROR, headers: CHAT_HEADERS });
    return;
  }
  await sendJson(ctx, 200, chatBody(g, id, created), CHAT_HEADERS);
  if (!ctx.isClosed()) report(ctx.state, g.emitted);
}

/** 202 (empty) on the first poll, 200 ChatResponse once, then 404 (docs/upstream.md §3.1 deferred flow). */
export async function handleDeferredCompletion(ctx: FakeCtx): Promise<void> {
  const id = ctx.params[0] ?? '';
  const pending = ctx.state.deferred.get(id);
  if (!pending || pending.delivered) {
    await sendError(ctx, 404, 'not-found', `No deferred completion with request id ${id}.`);
    return;
  }
  pending.polls += 1;
  if (pending.polls === 1) {
    await sendRaw(ctx, { status: 202, body: '' });
    return;
  }
  pending.delivered = true;
  await sendJson(ctx, 200, pending.body, CHAT_HEADERS);
  report(ctx.state, pending.emitted);
}

/** Legacy text completions (docs/upstream.md §3.2); no reasoning tokens. */
export async function handleCompletions(ctx: FakeCtx): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!body) return;
  const model = await requireModel(ctx, body);
  if (!model) return;
  const prompt = body['prompt'];
  const promptText = Array.isArray(prompt) ? prompt.filter((p) => typeof p === 'string').join('') : prompt;
  const g = plan(ctx, { ...model, reasoning: false }, body, promptTokensOfMessages([{ content: promptText }]));
  const id = randomUUID();
  const created = Math.floor(Date.now() / 1000);
  const base = { id, object: 'text_completion', created, model: model.id };
  if (body['stream'] === true) {
    const events: SseEvent[] = [];
    for (let i = 0; i < g.contentTokens; i++) {
      for (let c = 0; c < g.n; c++) events.push(dataEvent({ ...base, choices: [{ index: c, text: contentToken(i) }] }));
    }
    for (let c = 0; c < g.n; c++) {
      events.push(dataEvent({ ...base, choices: [{ index: c, text: '', finish_reason: g.finishReason }] }));
    }
    if (wantsUsage(body)) events.push(dataEvent({ ...base, choices: [], usage: g.usage }, g.emitted));
    events.push(DONE);
    await writeSse(ctx, events, { midstreamError: MIDSTREAM_CHAT_ERROR });
    return;
  }
  const text = generatedText(g.contentTokens);
  const choices = Array.from({ length: g.n }, (_, index) => ({ index, text, finish_reason: g.finishReason }));
  await sendJson(ctx, 200, { ...base, choices, usage: g.usage, system_fingerprint: model.fingerprint });
  if (!ctx.isClosed()) report(ctx.state, g.emitted);
}
