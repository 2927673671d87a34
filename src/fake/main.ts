/**
 * Standalone fake xAI server for the demo and manual testing:
 *   node dist/src/fake/main.js --port 9999 --key KEY [--key KEY2] [--latency-ms N] [--chunk-delay-ms N] [--chunks N]
 * Prints one line `fake xAI listening on http://127.0.0.1:PORT`; exits cleanly on SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';
import { startFakeXai } from './xai-server.js';

function nonNegativeInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a non-negative integer`);
  return Number(value);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      key: { type: 'string', multiple: true },
      'latency-ms': { type: 'string' },
      'chunk-delay-ms': { type: 'string' },
      chunks: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const keys = values.key ?? [];
  if (keys.length === 0) throw new Error('at least one --key is required');
  const fake = await startFakeXai({
    port: nonNegativeInt('port', values.port, 0),
    host: values.host ?? '127.0.0.1',
    apiKeys: keys,
    latencyMs: nonNegativeInt('latency-ms', values['latency-ms'], 0),
    chunkDelayMs: nonNegativeInt('chunk-delay-ms', values['chunk-delay-ms'], 0),
    streamChunks: nonNegativeInt('chunks', values.chunks, 5),
  });
  process.stdout.write(`fake xAI listening on ${fake.url}\n`);
  const stop = (): void => {
    fake.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`fake xAI: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
