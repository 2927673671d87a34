import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ADMIN_TOKEN, UPSTREAM_KEY } from './harness.js';
import { startNodeProcess, type NodeProcess } from './node-process.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * The gateway as users run it: `node dist/src/main.js` in its own process (npm test builds first), so
 * signals, start-up lines and exit codes are the real ones. Each process runs in a directory of its own, where
 * its settlement journal (the default `./data/settlements.jsonl`) lives: one journal per instance, as in
 * production, and nothing written into the repository.
 */
export type GatewayProcess = NodeProcess & { url: string; /** The process's working directory. */ dir: string };

export async function startGatewayProcess(env: Record<string, string>, options: { dir?: string } = {}): Promise<GatewayProcess> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'xgw-gateway-'));
  const started = await startNodeProcess({
    script: join(ROOT, 'dist/src/main.js'),
    name: 'gateway',
    cwd: dir,
    ready: /"address":"(http:\/\/127\.0\.0\.1:\d+)"/,
    env: { XAI_API_KEY: UPSTREAM_KEY, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN, HOST: '127.0.0.1', PORT: '0', GATEWAY_CONFIG: join(ROOT, 'config/gateway.yaml'), ...env },
  });
  return { ...started, url: started.ready, dir };
}
