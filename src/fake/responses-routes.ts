/**
 * Responses API of the fake: POST /v1/responses (plain, stream), GET|DELETE /v1/responses/:id and
 * POST /v1/responses/compact (docs/upstream.md §3.3, §4.2, §5.2).
 */
import { randomUUID } from 'node:crypto';
import { chunkCountOf, modelNotFound, readJsonBody, report, sendError, sendJson, sendRaw, writeSse } from './fake-context.js';
import type { FakeCtx, SseEvent } from './fake-context.js';
import { RECORDED_RESPONSE_WEB_SEARCH } from './fixtures.js';
import { FAKE_TEAM, resolveModel } from './models.js';
import type { FakeModel } from './models.js';
import {
  buildResponsesUsage,
  contentToken,
  generatedText,
  promptTokensOfResponsesInput,
  REASONING_TOKENS_PER_CHOICE,
} from './usage-math.js';
import type { EmittedUsage } from './usage-math.js';
import { CHAT_SET_COOKIE } from './chat-routes.js';

/** xAI picks a default model when `model` is absent (only `input` is required, docs/upstream.md §3.3). */
const DEFAULT_RESPONSES_MODEL = 'grok-4-fast-reasoning';
const HEADERS = { 'set-cookie': CHAT_SET_COOKIE };
const MIDSTREAM_RESPONSES_ERROR =
  'event: error\ndata: {"type":"error","code":"internal","message":"Please retry your request.","param":null}\n\n';

async function modelOf(ctx: FakeCtx, body: Record<string, unknown>): Promise<FakeModel | null> {
  const name = typeof body['model'] === 'string' ? body['model'] : DEFAULT_RESPONSES_MODEL;
  const model = resolveModel(name, 'language');
  if (!model) await modelNotFound(ctx, name, FAKE_TEAM);
  return model ?? null;
}

interface Built {
  final: Record<string, unknown>;
  inProgress: Record<string, unknown>;
  text: string;
  textTokens: number;
  reasoningTokens: number;
  emitted: EmittedUsage;
}

/** max_output_tokens includes reasoning (docs/upstream.md §3.3); the answer is cut to fit, status incomplete. */
function build(ctx: FakeCtx, model: FakeModel, body: Record<string, unknown>): Built {
  const id = randomUUID();
  const cap = typeof body['max_output_tokens'] === 'number' ? Math.max(0, Math.floor(body['max_output_tokens'])) : null;
  const wantedText = chunkCountOf(ctx);
  const wantedReasoning = model.reasoning ? REASONING_TOKENS_PER_CHOICE : 0;
  const reasoningTokens = cap === null ? wantedReasoning : Math.min(wantedReasoning, cap);
  const textTokens = cap === null ? wantedText : Math.min(wantedText, cap - reasoningTokens);
  const truncated = textTokens < wantedText || reasoningTokens < wantedReasoning;
  const inputTokens = promptTokensOfResponsesInput(body['input'], body['instructions']);
  const { usage, emitted } = buildResponsesUsage({ model, inputTokens, textTokens, reasoningTokens });
  const text = generatedText(textTokens);
  const output: unknown[] = [];
  if (reasoningTokens > 0) output.push({ id: `rs_${id}`, summary: [], type: 'reasoning', status: 'completed' });
  output.push({
    type: 'message',
    id: `msg_${id}`,
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text, logprobs: [], annotations: [] }],
  });
  const base = {
    created_at: Math.floor(Date.now() / 1000),
    id,
    max_output_tokens: cap,
    model: model.id,
    object: 'response',
    parallel_tool_calls: true,
    previous_response_id: typeof body['previous_response_id'] === 'string' ? body['previous_response_id'] : null,
    reasoning: { effort: null, summary: null },
    temperature: null,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: null,
    user: null,
    store: body['store'] !== false,
    metadata: {},
  };
  const final = {
    ...base,
    output,
    incomplete_details: truncated ? { reason: 'max_output_tokens' } : null,
    status: truncated ? 'incomplete' : 'completed',
    usage,
  };
  const inProgress = { ...base, output: [], incomplete_details: null, status: 'in_progress', usage: null };
  return { final, inProgress, text, textTokens, reasoningTokens, emitted };
}

/** Event sequence of docs/upstream.md §5.2 with `event:` lines, sequence_number from 0, no [DONE]. */
function streamEvents(b: Built): SseEvent[] {
  const id = b.final['id'] as string;
  const events: SseEvent[] = [];
  const push = (type: string, payload: Record<string, unknown>, usage?: EmittedUsage): void => {
    const data = JSON.stringify({ sequence_number: events.length, type, ...payload });
    const text = `event: ${type}\ndata: ${data}\n\n`;
    events.push(usage ? { text, usage } : { text });
  };
  push('response.created', { response: b.inProgress });
  push('response.in_progress', { response: b.inProgress });
  let outputIndex = 0;
  if (b.reasoningTokens > 0) {
    const item = { id: `rs_${id}`, summary: [], type: 'reasoning' };
    push('response.output_item.added', { item: { ...item, status: 'in_progress' }, output_index: outputIndex });
    push('response.output_item.done', { item: { ...item, status: 'completed' }, output_index: outputIndex });
    outputIndex += 1;
  }
  const msgId = `msg_${id}`;
  const message = { content: [], id: msgId, role: 'assistant', type: 'message', status: 'in_progress' };
  const part = { type: 'output_text', text: '', logprobs: [], annotations: [] };
  const at = { item_id: msgId, output_index: outputIndex };
  push('response.output_item.added', { item: message, output_index: outputIndex });
  push('response.content_part.added', { content_index: 0, ...at, part });
  for (let i = 0; i < b.textTokens; i++) {
    push('response.output_text.delta', { content_index: 0, delta: contentToken(i), ...at, logprobs: [] });
  }
  push('response.output_text.done', { content_index: 0, ...at, text: b.text, logprobs: [] });
  const donePart = { ...part, text: b.text };
  push('response.content_part.done', { content_index: 0, ...at, part: donePart });
  const doneMessage = { ...message, content: [donePart], status: 'completed' };
  push('response.output_item.done', { item: doneMessage, output_index: outputIndex });
  const endType = b.final['status'] === 'incomplete' ? 'response.incomplete' : 'response.completed';
  push(endType, { response: b.final }, b.emitted);
  return events;
}

export async function handleCreateResponse(ctx: FakeCtx): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!body) return;
  if (ctx.scenario === 'recorded-response') {
    await sendJson(ctx, 200, RECORDED_RESPONSE_WEB_SEARCH, HEADERS);
    // The recorded usage has no cost_in_usd_ticks (2025-11 capture).
    if (!ctx.isClosed()) report(ctx.state, { totalTokens: 2524, costTicks: 0 });
    return;
  }
  const model = await modelOf(ctx, body);
  if (!model) return;
  if (body['input'] === undefined) {
    await sendRaw(ctx, {
      status: 422,
      body: 'Failed to deserialize the JSON body into the target type: missing field `input`',
      contentType: 'text/plain; charset=utf-8',
    });
    return;
  }
  const built = build(ctx, model, body);
  if (built.final['store'] === true) ctx.state.responses.set(built.final['id'] as string, built.final);
  if (body['stream'] === true) {
    await writeSse(ctx, streamEvents(built), { midstreamError: MIDSTREAM_RESPONSES_ERROR, headers: HEADERS });
    return;
  }
  await sendJson(ctx, 200, built.final, HEADERS);
  if (!ctx.isClosed()) report(ctx.state, built.emitted);
}

/** Stored responses are re-reads, not new usage: not added to `reported`. */
export async function handleGetResponse(ctx: FakeCtx): Promise<void> {
  const id = ctx.params[0] ?? '';
  const stored = ctx.state.responses.get(id);
  if (!stored) return sendError(ctx, 404, 'not-found', `Response with id ${id} not found.`);
  return sendJson(ctx, 200, stored);
}

export async function handleDeleteResponse(ctx: FakeCtx): Promise<void> {
  const id = ctx.params[0] ?? '';
  if (!ctx.state.responses.delete(id)) return sendError(ctx, 404, 'not-found', `Response with id ${id} not found.`);
  return sendJson(ctx, 200, { id, object: 'response', deleted: true });
}

/** Context compaction (docs/upstream.md §2, shape not captured there: the fake's own plausible shape). */
export async function handleCompactResponse(ctx: FakeCtx): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!body) return;
  const model = await modelOf(ctx, body);
  if (!model) return;
  const id = randomUUID();
  const inputTokens = promptTokensOfResponsesInput(body['input'], body['instructions']);
  const { usage, emitted } = buildResponsesUsage({ model, inputTokens, textTokens: chunkCountOf(ctx), reasoningTokens: 0 });
  await sendJson(ctx, 200, {
    id,
    object: 'response.compaction',
    created_at: Math.floor(Date.now() / 1000),
    model: model.id,
    output: [{ type: 'compaction', id: `cmp_${id}`, encrypted_content: Buffer.from(`compacted:${id}`).toString('base64') }],
    usage,
  });
  if (!ctx.isClosed()) report(ctx.state, emitted);
}
