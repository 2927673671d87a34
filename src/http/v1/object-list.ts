import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../errors.js';
import { walkOwnedList, readListPage, type ListPage, type WalkPosition } from '../../ownership/list-walk.js';
import type { ObjectKind, OwnershipStore } from '../../ownership/types.js';
import type { UpstreamClient } from '../../upstream/client.js';
import { buildClientHeaders } from '../../upstream/headers.js';
import { requestWithKeyFailover } from '../../upstream/key-failover.js';
import { mapUpstreamError } from '../../upstream/map-error.js';
import { readAll } from '../../upstream/read-all.js';
import { parseAnswer } from '../../usage/extract-usage.js';

/** xAI's largest list page (files: `limit` 1..100): the fewest upstream calls per filtered page. */
const UPSTREAM_PAGE_SIZE = 100;
/** xAI's pages walked at most for one answer (2,000 objects); the answer then says where to go on. */
const MAX_PAGES_PER_ANSWER = 20;
/** How long a pagination_token handed out by the gateway stays usable. */
const CURSOR_TTL_MS = 3_600_000;

export interface ObjectListInput {
  request: FastifyRequest;
  reply: FastifyReply;
  kind: ObjectKind;
  /** `/v1/files` or `/v1/batches`, with the client's query string. */
  upstreamPath: string;
  keyId: string;
  ownership: OwnershipStore;
  upstream: UpstreamClient;
}

interface Relayed {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/**
 * `GET /v1/files` and `GET /v1/batches` (docs/isolation.md): xAI's list, walked page by page and filtered to the
 * objects the caller may reach, in xAI's order and shape; `pagination_token` is a cursor of the gateway's own,
 * bound to the caller's key. xAI's own error answers are relayed as they are. Resolves with whether any request
 * reached xAI (then the request counts as usage, docs/api.md).
 */
export async function answerObjectList(input: ObjectListInput): Promise<{ sentUpstream: boolean }> {
  const { request, reply } = input;
  const queryAt = input.upstreamPath.indexOf('?');
  const path = queryAt === -1 ? input.upstreamPath : input.upstreamPath.slice(0, queryAt);
  const params = new URLSearchParams(queryAt === -1 ? '' : input.upstreamPath.slice(queryAt + 1));
  const limit = listLimit(params.get('limit'));
  const token = params.get('pagination_token');
  params.delete('limit');
  params.delete('pagination_token');
  let start: WalkPosition = { upstreamToken: null, skip: 0, afterId: null };
  let query = params.toString();
  if (token !== null) {
    const cursor = await input.ownership.loadCursor(token);
    if (cursor === null || cursor.keyId !== input.keyId || cursor.kind !== input.kind) {
      throw errors.invalidRequest('"pagination_token" is unknown or has expired: list again from the first page.');
    }
    start = { upstreamToken: cursor.upstreamToken, skip: cursor.skip, afterId: cursor.afterId };
    query = cursor.query;
  }

  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  let sentUpstream = false;
  const fetchPage = async (upstreamToken: string | null): Promise<{ kind: 'page'; page: ListPage } | { kind: 'stop'; answer: Relayed }> => {
    const pageQuery = new URLSearchParams(query);
    pageQuery.set('limit', String(UPSTREAM_PAGE_SIZE));
    if (upstreamToken !== null) pageQuery.set('pagination_token', upstreamToken);
    sentUpstream = true;
    let status: number;
    let headers: Record<string, string | string[]>;
    let body: Buffer;
    try {
      const response = await requestWithKeyFailover(input.upstream, {
        method: 'GET',
        path: `${path}?${pageQuery.toString()}`,
        clientHeaders: request.headers,
        extraHeaders: { 'x-request-id': request.id },
        body: null,
        controller,
      });
      status = response.statusCode;
      headers = buildClientHeaders(response.headers);
      body = await readAll(response.body);
    } catch (err) {
      throw mapUpstreamError(err);
    }
    if (status !== 200) return { kind: 'stop', answer: { status, headers, body } };
    const page = readListPage(parseAnswer(body));
    if (page === null) throw errors.upstreamError('xAI answered a list request without a list.');
    return { kind: 'page', page };
  };

  const walked = await walkOwnedList({
    kind: input.kind,
    keyId: input.keyId,
    limit,
    start,
    pageSize: UPSTREAM_PAGE_SIZE,
    maxPages: MAX_PAGES_PER_ANSWER,
    fetchPage,
    owners: (ids) => input.ownership.getMany(ids),
  });
  if (walked.kind === 'stop') {
    void reply.code(walked.answer.status).headers(walked.answer.headers).send(walked.answer.body);
    return { sentUpstream };
  }
  const next =
    walked.next === null
      ? null
      : await input.ownership.saveCursor({ keyId: input.keyId, kind: input.kind, ...walked.next, query }, CURSOR_TTL_MS);
  // Only fields the gateway knows to name no object: xAI's page may carry ids elsewhere (its token does).
  const answer: Record<string, unknown> = walked.object === null ? {} : { object: walked.object };
  answer[walked.field] = walked.items;
  answer['pagination_token'] = next;
  void reply.code(200).send(answer);
  return { sentUpstream };
}

/** `limit`, 1..100 as xAI takes it; absent → xAI's default of 100. */
function listLimit(value: string | null): number {
  if (value === null) return UPSTREAM_PAGE_SIZE;
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > UPSTREAM_PAGE_SIZE) {
    throw errors.invalidRequest(`"limit" must be a whole number from 1 to ${UPSTREAM_PAGE_SIZE}.`);
  }
  return Number(value);
}
