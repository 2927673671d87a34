#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { adminTokenFrom } from './admin-token.js';
import { runCli } from './run-cli.js';

/**
 * The `xai-gateway` command (package.json "bin"): process I/O around runCli, which does the work.
 * Sets the exit code instead of calling process.exit, so piped output is flushed first.
 */
function packageVersion(): string {
  try {
    // dist/src/cli/main.js → the package root's package.json.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

try {
  process.exitCode = await runCli({
    argv: process.argv.slice(2),
    env: process.env,
    fetch: (url, init) => fetch(url, init),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    version: packageVersion(),
  });
} catch (err) {
  // A bug, not a gateway answer: say so in one line, without a stack and without the token.
  const token = adminTokenFrom(process.env);
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`xai-gateway: unexpected error: ${token.ok ? message.split(token.token).join('[admin token]') : message}\n`);
  process.exitCode = 1;
}
