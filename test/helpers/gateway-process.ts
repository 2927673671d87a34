import { ADMIN_TOKEN, UPSTREAM_KEY } from './harness.js';
import { startNodeProcess, type NodeProcess } from './node-process.js';

/**
 * The gateway as users run it: `node dist/src/main.js` in its own process (npm test builds first), so
 * signals, start-up lines and exit codes are the real ones.
 */
export type GatewayProcess = NodeProcess & { url: string };

export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const started = await startNodeProcess({
    script: 'dist/src/main.js',
    name: 'gateway',
    ready: /"address":"(http:\/\/127\.0\.0\.1:\d+)"/,
    env: { XAI_API_KEY: UPSTREAM_KEY, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN, HOST: '127.0.0.1', PORT: '0', ...env },
  });
  return { ...started, url: started.ready };
}
