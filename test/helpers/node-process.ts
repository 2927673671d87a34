import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/**
 * A Node script in its own process, as users run it, started and awaited until its output matches
 * `ready` (the first capture group is returned). Used for the gateway (`dist/src/main.js`) and the browser
 * example's backend.
 */
export interface NodeProcess {
  /** The ready pattern's first capture group (e.g. the URL it listens on). */
  ready: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

export async function startNodeProcess(options: {
  script: string;
  env: Record<string, string>;
  ready: RegExp;
  name: string;
  timeoutMs?: number;
  /** Working directory (default: this one). */
  cwd?: string;
}): Promise<NodeProcess> {
  const child = spawn(process.execPath, [options.script], {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.name} did not start: ${output}`)), options.timeoutMs ?? 15_000);
    const check = (): void => {
      const match = options.ready.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited ${code}: ${output}`));
    });
  });
  return {
    ready,
    child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
