/**
 * The fake's route table: every path of docs/api.md ("Routes forwarded" and "Answered by the gateway"), plus
 * /v1/complete (removed like /v1/messages, docs/upstream.md §10).
 */
import type { FakeCtx } from './fake-context.js';
import { handleChatCompletions, handleCompletions, handleDeferredCompletion } from './chat-routes.js';
import { catalogHandlers, handleApiKey, handleGetModel, handleListModels } from './catalog-routes.js';
import {
  handleAddBatchRequests,
  handleBatchResults,
  handleCancelBatch,
  handleCreateBatch,
  handleDeleteFile,
  handleFileContent,
  handleGetBatch,
  handleGetFile,
  handleListBatchRequests,
  handleListBatches,
  handleListFiles,
  handleStt,
  handleUploadFile,
} from './files-routes.js';
import {
  handleClientSecrets,
  handleCreateVideo,
  handleDocumentsSearch,
  handleEmbeddings,
  handleGetVideo,
  handleGone,
  handleImages,
  handleTokenize,
  handleTts,
} from './media-routes.js';
import {
  handleCompactResponse,
  handleCreateResponse,
  handleDeleteResponse,
  handleGetResponse,
} from './responses-routes.js';

export type Handler = (ctx: FakeCtx) => Promise<void>;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handler: Handler;
}

const ID = '([^/:]+)';
const r = (method: string, path: string, handler: Handler): Route => ({
  method,
  pattern: new RegExp(`^${path}$`),
  handler,
});

const language = catalogHandlers('language');
const image = catalogHandlers('image');
const video = catalogHandlers('video');
const embedding = catalogHandlers('embedding');

const ROUTES: readonly Route[] = [
  r('POST', '/v1/chat/completions', handleChatCompletions),
  r('GET', `/v1/chat/deferred-completion/${ID}`, handleDeferredCompletion),
  r('POST', '/v1/completions', handleCompletions),
  r('POST', '/v1/complete', handleGone),
  r('POST', '/v1/responses', handleCreateResponse),
  r('POST', '/v1/responses/compact', handleCompactResponse),
  r('GET', `/v1/responses/${ID}`, handleGetResponse),
  r('DELETE', `/v1/responses/${ID}`, handleDeleteResponse),
  r('POST', '/v1/messages', handleGone),
  r('POST', '/v1/embeddings', handleEmbeddings),
  r('POST', '/v1/images/(?:generations|edits)', handleImages),
  r('POST', '/v1/videos/(?:generations|edits|extensions)', handleCreateVideo),
  r('GET', `/v1/videos/${ID}`, handleGetVideo),
  r('POST', '/v1/tokenize-text', handleTokenize),
  r('POST', '/v1/documents/search', handleDocumentsSearch),
  r('GET', '/v1/files', handleListFiles),
  r('POST', '/v1/files', handleUploadFile),
  r('GET', `/v1/files/${ID}`, handleGetFile),
  r('DELETE', `/v1/files/${ID}`, handleDeleteFile),
  r('GET', `/v1/files/${ID}/content`, handleFileContent),
  r('POST', '/v1/batches', handleCreateBatch),
  r('GET', '/v1/batches', handleListBatches),
  r('POST', `/v1/batches/${ID}:cancel`, handleCancelBatch),
  r('GET', `/v1/batches/${ID}`, handleGetBatch),
  r('GET', `/v1/batches/${ID}/requests`, handleListBatchRequests),
  r('POST', `/v1/batches/${ID}/requests`, handleAddBatchRequests),
  r('GET', `/v1/batches/${ID}/results`, handleBatchResults),
  r('POST', '/v1/tts', handleTts),
  r('POST', '/v1/stt', handleStt),
  r('POST', '/v1/realtime/client_secrets', handleClientSecrets),
  r('GET', '/v1/models', handleListModels),
  r('GET', `/v1/models/${ID}`, handleGetModel),
  r('GET', '/v1/language-models', language.list),
  r('GET', `/v1/language-models/${ID}`, language.get),
  r('GET', '/v1/image-generation-models', image.list),
  r('GET', `/v1/image-generation-models/${ID}`, image.get),
  r('GET', '/v1/video-generation-models', video.list),
  r('GET', `/v1/video-generation-models/${ID}`, video.get),
  r('GET', '/v1/embedding-models', embedding.list),
  r('GET', `/v1/embedding-models/${ID}`, embedding.get),
  r('GET', '/v1/api-key', handleApiKey),
];

export type RouteMatch =
  | { kind: 'found'; handler: Handler; params: string[] }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

/** Matches a path (without query) and method; 405 when the path exists for other methods only. */
export function matchRoute(method: string, pathname: string): RouteMatch {
  const allowed: string[] = [];
  for (const route of ROUTES) {
    const m = route.pattern.exec(pathname);
    if (!m) continue;
    if (route.method === method) return { kind: 'found', handler: route.handler, params: m.slice(1).map((p) => p ?? '') };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
}
