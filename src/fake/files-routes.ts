/**
 * Multipart endpoints (/v1/files upload, /v1/stt) and the stored-object endpoints for files and batches
 * (docs/upstream.md §3.12, §3.14, §3.15). Batch shapes are not captured in docs/upstream.md: the fake's own.
 */
import { randomUUID } from 'node:crypto';
import { headerValue, readJsonBody, sendError, sendJson, sendRaw } from './fake-context.js';
import type { FakeCtx } from './fake-context.js';
import { boundaryOf, parseMultipart } from './multipart.js';
import type { MultipartPart } from './multipart.js';

const MAX_FILE_BYTES = 50 * 1024 * 1024;

async function multipartParts(ctx: FakeCtx): Promise<MultipartPart[] | null> {
  const boundary = boundaryOf(headerValue(ctx.req, 'content-type'));
  if (boundary === undefined) {
    await sendError(ctx, 415, 'invalid-argument', 'Expected a multipart/form-data body.');
    return null;
  }
  const parts = parseMultipart(ctx.body, boundary);
  if (!parts) {
    await sendError(ctx, 400, 'invalid-argument', 'Malformed multipart/form-data body.');
    return null;
  }
  return parts;
}

async function filePart(ctx: FakeCtx, parts: readonly MultipartPart[]): Promise<MultipartPart | null> {
  const file = parts.find((p) => p.name === 'file');
  if (!file) await sendError(ctx, 400, 'invalid-argument', 'Missing required multipart field `file`.');
  return file ?? null;
}

export async function handleUploadFile(ctx: FakeCtx): Promise<void> {
  const parts = await multipartParts(ctx);
  if (!parts) return;
  const file = await filePart(ctx, parts);
  if (!file) return;
  if (file.data.length > MAX_FILE_BYTES) return sendError(ctx, 413, 'invalid-argument', 'File exceeds 50 MB.');
  const now = Math.floor(Date.now() / 1000);
  const expiresAfter = Number(parts.find((p) => p.name === 'expires_after')?.data.toString('utf8'));
  const id = `file_${randomUUID()}`;
  const meta = {
    id,
    object: 'file',
    bytes: file.data.length,
    created_at: now,
    expires_at: Number.isInteger(expiresAfter) && expiresAfter > 0 ? now + expiresAfter : null,
    filename: file.filename ?? 'upload',
    purpose: '',
  };
  ctx.state.files.set(id, { meta, content: Buffer.from(file.data) });
  await sendJson(ctx, 200, meta);
}

/**
 * One page of a stored list as xAI pages files (docs/upstream.md §3.12): `limit` 1..100 (default 100), newest first
 * unless `order=asc`, and `pagination_token` = the id of the page's last item, after which the next page starts
 * (a short page is the last one). Batches are paged the same way here; their real shape is not captured.
 */
async function listPage(ctx: FakeCtx, items: readonly Record<string, unknown>[]): Promise<{ page: Record<string, unknown>[]; token: string | null } | null> {
  const query = new URL(ctx.req.url ?? '/', 'http://fake').searchParams;
  const limitText = query.get('limit');
  const limit = limitText === null ? 100 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    await sendError(ctx, 400, 'invalid-argument', 'limit must be between 1 and 100.');
    return null;
  }
  const ordered = query.get('order') === 'asc' ? [...items] : [...items].reverse();
  const after = query.get('pagination_token');
  let from = 0;
  if (after !== null && after !== '') {
    const at = ordered.findIndex((item) => item['id'] === after);
    if (at === -1) {
      await sendError(ctx, 400, 'invalid-argument', 'Invalid pagination token.');
      return null;
    }
    from = at + 1;
  }
  const page = ordered.slice(from, from + limit);
  const last = page[page.length - 1];
  return { page, token: last === undefined ? null : String(last['id']) };
}

export async function handleListFiles(ctx: FakeCtx): Promise<void> {
  const listed = await listPage(ctx, [...ctx.state.files.values()].map((f) => f.meta));
  if (listed) await sendJson(ctx, 200, { data: listed.page, pagination_token: listed.token });
}

export async function handleGetFile(ctx: FakeCtx): Promise<void> {
  const id = ctx.params[0] ?? '';
  const file = ctx.state.files.get(id);
  if (!file) return sendError(ctx, 404, 'not-found', `File ${id} not found.`);
  return sendJson(ctx, 200, file.meta);
}

export async function handleDeleteFile(ctx: FakeCtx): Promise<void> {
  const id = ctx.params[0] ?? '';
  if (!ctx.state.files.delete(id)) return sendError(ctx, 404, 'not-found', `File ${id} not found.`);
  return sendJson(ctx, 200, { id, deleted: true, object: 'file' });
}

export async function handleFileContent(ctx: FakeCtx): Promise<void> {
  const id = ctx.params[0] ?? '';
  const file = ctx.state.files.get(id);
  if (!file) return sendError(ctx, 404, 'not-found', `File ${id} not found.`);
  return sendRaw(ctx, { status: 200, body: file.content, contentType: 'application/octet-stream' });
}

/** Speech to text: multipart with `file` last (docs/upstream.md §3.15). */
export async function handleStt(ctx: FakeCtx): Promise<void> {
  const parts = await multipartParts(ctx);
  if (!parts) return;
  const file = await filePart(ctx, parts);
  if (!file) return;
  await sendJson(ctx, 200, {
    text: 'Hello from the fake xAI server.',
    language: 'en',
    duration: Math.round((file.data.length / 16_000) * 100) / 100,
  });
}

function batchState(requests: number, cancelled: boolean): Record<string, number> {
  return {
    num_requests: requests,
    num_pending: cancelled ? 0 : requests,
    num_success: 0,
    num_error: 0,
    num_cancelled: cancelled ? requests : 0,
  };
}

export async function handleCreateBatch(ctx: FakeCtx): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!body) return;
  const id = `batch_${randomUUID()}`;
  const batch = {
    id,
    batch_id: id,
    object: 'batch',
    name: typeof body['name'] === 'string' ? body['name'] : '',
    status: 'processing',
    create_time: new Date().toISOString(),
    state: batchState(0, false),
  };
  ctx.state.batches.set(id, { batch, requests: [] });
  await sendJson(ctx, 200, batch);
}

export async function handleListBatches(ctx: FakeCtx): Promise<void> {
  const listed = await listPage(ctx, [...ctx.state.batches.values()].map((b) => b.batch));
  if (listed) await sendJson(ctx, 200, { batches: listed.page, pagination_token: listed.token });
}

async function batchOf(ctx: FakeCtx): Promise<{ batch: Record<string, unknown>; requests: unknown[] } | null> {
  const id = ctx.params[0] ?? '';
  const entry = ctx.state.batches.get(id);
  if (!entry) await sendError(ctx, 404, 'not-found', `Batch ${id} not found.`);
  return entry ?? null;
}

export async function handleGetBatch(ctx: FakeCtx): Promise<void> {
  const entry = await batchOf(ctx);
  if (entry) await sendJson(ctx, 200, entry.batch);
}

export async function handleAddBatchRequests(ctx: FakeCtx): Promise<void> {
  const entry = await batchOf(ctx);
  if (!entry) return;
  const body = await readJsonBody(ctx);
  if (!body) return;
  const list: unknown = body['batch_requests'];
  const added: unknown[] = Array.isArray(list) ? (list as unknown[]) : [body];
  const id = entry.batch['id'] as string;
  const requests = [...entry.requests, ...added];
  const batch = { ...entry.batch, state: batchState(requests.length, entry.batch['status'] === 'cancelled') };
  ctx.state.batches.set(id, { batch, requests });
  await sendJson(ctx, 200, { batch_id: id, num_added: added.length });
}

export async function handleListBatchRequests(ctx: FakeCtx): Promise<void> {
  const entry = await batchOf(ctx);
  if (!entry) return;
  const metadata = entry.requests.map((_, i) => ({ batch_request_id: `req_${i}`, state: 'pending' }));
  await sendJson(ctx, 200, { batch_request_metadata: metadata, pagination_token: null });
}

/** Results as chat completions (docs/upstream.md §3.14); without usage, so they are never double-counted. */
export async function handleBatchResults(ctx: FakeCtx): Promise<void> {
  const entry = await batchOf(ctx);
  if (!entry) return;
  const results = entry.requests.map((_, i) => ({
    batch_request_id: `req_${i}`,
    response: {
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the fake xAI server.' }, finish_reason: 'stop' }],
    },
  }));
  await sendJson(ctx, 200, { results, pagination_token: null });
}

export async function handleCancelBatch(ctx: FakeCtx): Promise<void> {
  const entry = await batchOf(ctx);
  if (!entry) return;
  const batch = { ...entry.batch, status: 'cancelled', state: batchState(entry.requests.length, true) };
  ctx.state.batches.set(ctx.params[0] ?? '', { batch, requests: entry.requests });
  await sendJson(ctx, 200, batch);
}
