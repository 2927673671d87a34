import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { parseConfig } from './config/load-config.js';
import { startFakeXai } from './fake/xai-server.js';
import { createGateway } from './gateway.js';
import { createLogger } from './logging.js';
import { openStore } from './store.js';

/**
 * `npm run demo` (docs/configuration.md): the whole flow with no xAI account and no network. Starts the project's fake
 * xAI on loopback, the gateway on the in-process store in front of it, creates a demo client key through
 * the admin API, and prints curl commands that reach only the fake.
 */
const DEMO_YAML = `
pricing:
  grok-4:      { input: 3.00, cachedInput: 0.75, output: 15.00 }
  grok-3-mini: { input: 0.30, cachedInput: 0.075, output: 0.50 }
plans:
  demo:
    models: ["grok-3-mini", "grok-4"]
    endpoints: ["chat.completions", "responses", "models", "api-key"]
    limits: { requestsPerMinute: 30, tokensPerDay: 200000, costPerDayUsd: 1, concurrency: 4, maxOutputTokens: 1024 }
`;

async function main(): Promise<void> {
  const upstreamKey = `xai-demo-${randomBytes(12).toString('hex')}`;
  const adminToken = `demo-admin-${randomBytes(12).toString('hex')}`;
  const fake = await startFakeXai({ apiKeys: [upstreamKey], chunkDelayMs: 150 });
  const port = process.env.PORT ?? '8080';
  const config = parseConfig(DEMO_YAML, {
    file: '(demo)',
    env: { XAI_API_KEY: upstreamKey, XAI_BASE_URL: fake.url, GATEWAY_ADMIN_TOKEN: adminToken, HOST: '127.0.0.1', PORT: port, LOG_LEVEL: 'warn' },
  });
  const logger = createLogger({ level: config.logLevel, secrets: [upstreamKey, adminToken] });
  const store = openStore(config.store, logger);
  const gateway = createGateway({ config, logger, store });
  await gateway.app.listen({ host: config.server.host, port: config.server.port });
  const base = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`;

  const created = await fetch(`${base}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'demo-frontend', plan: 'demo' }),
  });
  const key = (await created.json()) as { id: string; key: string };

  const chat = (extra: string): string =>
    `curl -s ${base}/v1/chat/completions -H "Authorization: Bearer ${key.key}" -H "Content-Type: application/json" \\\n  -d '{"model":"grok-3-mini","messages":[{"role":"user","content":"Hello"}]${extra}}'`;
  process.stdout.write(`
xai-gateway demo: the gateway listens on ${base}, in front of a fake xAI on ${fake.url}
(in-process store, no network, no xAI account; stop with Ctrl-C).

Demo client key (id ${key.id}), plan "demo": ${key.key}

1. A chat completion:
${chat('')}

2. The same, streamed event by event:
${chat(',"stream":true').replace('curl -s', 'curl -sN')}

3. A model outside the key's scopes (403 model_not_allowed, nothing sent upstream):
${chat('').replace('grok-3-mini', 'grok-code-fast-1')}

4. The key's own record and what is left of its limits:
curl -s ${base}/v1/api-key -H "Authorization: Bearer ${key.key}"

5. The usage report (admin API; the admin token exists only for this demo run):
curl -s ${base}/admin/keys/${key.id}/usage -H "Authorization: Bearer ${adminToken}"

`);

  const stop = (): void => {
    void gateway
      .close()
      .then(() => store.close())
      .then(() => fake.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
