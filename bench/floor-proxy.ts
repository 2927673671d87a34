/**
 * The floor: the least a fair authenticating proxy must do. Fastify 5 + one undici Pool (the same
 * keep-alive pool idea and size as the gateway's upstream client), an in-memory key check (one Set lookup of
 * the Authorization header), the body read whole as bytes (as the gateway does) and forwarded unchanged to
 * the upstream with the upstream key, the answer streamed back. No quotas, no usage, no logs.
 *
 *   node dist/bench-build/bench/floor-proxy.js --port N --upstream http://127.0.0.1:M --upstream-key K --client-key C
 * Prints `floor listening on http://…` once listening; exits on SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { Pool } from 'undici';

/** Response headers a proxy must not relay (RFC 9110 §7.6.1), plus the length Fastify recomputes. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'set-cookie']);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      upstream: { type: 'string' },
      'upstream-key': { type: 'string' },
      'client-key': { type: 'string', multiple: true },
    },
    strict: true,
  });
  const upstream = values.upstream;
  const upstreamKey = values['upstream-key'];
  if (upstream === undefined || upstreamKey === undefined) throw new Error('--upstream and --upstream-key are required');
  const keys = new Set((values['client-key'] ?? []).map((k) => `Bearer ${k}`));

  const pool = new Pool(upstream, { connections: 256, keepAliveTimeout: 30_000 });
  const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post('/v1/chat/completions', async (request, reply) => {
    const auth = request.headers.authorization;
    if (auth === undefined || !keys.has(auth)) {
      return reply.code(401).send({ error: { message: 'Invalid API key.', type: 'invalid_request_error', code: 'invalid_api_key' } });
    }
    const controller = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    const response = await pool.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: {
        authorization: `Bearer ${upstreamKey}`,
        'content-type': request.headers['content-type'] ?? 'application/json',
      },
      body: request.body as Buffer,
      signal: controller.signal,
    });
    reply.code(response.statusCode);
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) reply.header(name, value);
    }
    return reply.send(response.body);
  });

  const address = await app.listen({ host: '127.0.0.1', port: Number(values.port) });
  process.stdout.write(`floor listening on ${address}\n`);
  const stop = (): void => {
    void app
      .close()
      .then(() => pool.close())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`floor proxy: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
