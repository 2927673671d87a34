/* global fetch, AbortSignal, URL, setTimeout, clearTimeout -- Node 20 globals; the repository's ESLint config declares none for .js files */
/**
 * `npm run example:browser`: the browser example with no xAI account and no network. Starts, from the built
 * gateway (npm install builds it; else `npm run build`):
 *   1. the project's fake xAI on loopback (dist/src/fake/main.js) with an upstream key made up for this run,
 *   2. the gateway (dist/src/main.js, config/gateway.yaml, in-process store) in front of it on 127.0.0.1:8080,
 *      with an admin token made up for this run,
 *   3. creates a minting key through the admin API (`mint: { maxTtlSeconds: 600 }`),
 *   4. the example backend (examples/browser/server.js) on http://localhost:5173 holding that key,
 * prints the URL to open, and stops all three on Ctrl-C. No secret is printed.
 *
 * Environment: GATEWAY_PORT (default 8080), PORT (the page, default 5173), MODEL (default grok-3-mini),
 * LOG_LEVEL (the gateway's, default warn).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const gatewayPort = process.env.GATEWAY_PORT || '8080';
const pagePort = process.env.PORT || '5173';
const model = process.env.MODEL || 'grok-3-mini';
const STARTUP_TIMEOUT_MS = 15_000;

const children = [];
let stopping = false;

function say(line) {
  process.stdout.write(`${line}\n`);
}

/** Spawns `node <script>` from the repository root; its output lines are shown prefixed with its name. */
function start(name, args, env) {
  const child = spawn(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      say(`[${name}] ${line}`);
    });
  }
  const exited = once(child, 'exit');
  void exited.then(([code, signal]) => {
    if (!stopping) {
      say(`${name} stopped (${signal ?? `exit code ${code}`}); stopping the demo.`);
      void stopAll(1);
    }
  });
  children.push({ name, child, exited });
  return {
    /** Resolves with the first match of `pattern` in the output. */
    async waitFor(pattern) {
      const deadline = Date.now() + STARTUP_TIMEOUT_MS;
      for (;;) {
        for (const line of lines) {
          const match = pattern.exec(line);
          if (match) return match;
        }
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start`);
        await sleep(50);
      }
    },
  };
}

async function stopAll(code) {
  stopping = true;
  // Page backend first, then the gateway (it drains streams in flight), then the fake upstream.
  for (const { child, exited } of [...children].reverse()) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  }
  process.exit(code);
}

async function waitUntilHealthy(url) {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    const healthy = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
    if (healthy) return;
    if (stopping || Date.now() > deadline) throw new Error('the gateway did not start');
    await sleep(100);
  }
}

/** Something already listening there (another gateway, a dev server) would be talked to instead of ours. */
function portInUse(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function main() {
  if (!existsSync(`${root}dist/src/main.js`) || !existsSync(`${root}dist/src/fake/main.js`)) {
    throw new Error('the gateway is not built: run `npm run build` first');
  }
  for (const [name, port] of [['GATEWAY_PORT', gatewayPort], ['PORT', pagePort]]) {
    if (await portInUse(port)) throw new Error(`port ${port} is in use; choose another with ${name}=…`);
  }
  const upstreamKey = `xai-demo-${randomBytes(16).toString('hex')}`;
  const adminToken = `demo-admin-${randomBytes(16).toString('hex')}`;

  const fake = start('fake xAI', ['dist/src/fake/main.js', '--port', '0', '--key', upstreamKey, '--chunks', '40', '--chunk-delay-ms', '80'], {});
  const [, fakeUrl] = await fake.waitFor(/listening on (http:\/\/\S+)/);

  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  start('gateway', ['dist/src/main.js'], {
    GATEWAY_CONFIG: 'config/gateway.yaml',
    XAI_API_KEY: upstreamKey,
    XAI_BASE_URL: fakeUrl,
    GATEWAY_ADMIN_TOKEN: adminToken,
    HOST: '127.0.0.1',
    PORT: gatewayPort,
    LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
    // No REDIS_URL: the in-process store, gone when the demo stops.
  });
  await waitUntilHealthy(gatewayUrl);

  // The backend's minting key: server-to-server only, so no allowedOrigins/allowedIps (children inherit them).
  const created = await fetch(`${gatewayUrl}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'browser-example-backend',
      models: [model],
      endpoints: ['chat.completions'],
      limits: { requestsPerMinute: 60, maxOutputTokens: 1024 },
      mint: { maxTtlSeconds: 600 },
      metadata: { example: 'browser' },
    }),
  });
  const minting = await created.json();
  if (created.status !== 201) throw new Error(`creating the minting key failed: HTTP ${created.status} ${minting?.error?.message ?? ''}`);

  const backend = start('app backend', ['examples/browser/server.js'], {
    MINTING_KEY: minting.key,
    GATEWAY_URL: gatewayUrl,
    PORT: pagePort,
    MODEL: model,
  });
  const [, pageUrl] = await backend.waitFor(/open (http:\/\/\S+)/);

  say(`
Browser example ready. Open ${pageUrl} in a browser.

  fake xAI     ${fakeUrl}  (loopback only: no network, no xAI account)
  gateway      ${gatewayUrl}  (in-process store; upstream key and admin token made up for this run)
  app backend  ${pageUrl}  (holds minting key ${minting.id}; GET /session mints a 10-minute child key
               bound to ${new URL(pageUrl).origin}, model ${model}, chat only)

Ctrl-C stops all three.
`);
}

for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void stopAll(0));

main().catch((err) => {
  say(`browser example demo failed: ${err instanceof Error ? err.message : String(err)}`);
  void stopAll(1);
});
