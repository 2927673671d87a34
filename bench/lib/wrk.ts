/**
 * wrk (Debian's package) as the load generator for timed points where it is installed: a C load generator in
 * its own process, so the figures compare with other published proxy benchmarks that use it, and the driver's
 * JavaScript does not compete with the gateway for the two cores. Points with a fixed number of requests
 * (MONITOR, warm-ups of a given size) stay with autocannon, which wrk cannot do.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let binary: string | null | undefined;

/** The wrk binary on PATH, or null; BENCH_LOAD=autocannon forces autocannon. */
export function wrkBinary(): string | null {
  if (binary !== undefined) return binary;
  if (process.env.BENCH_LOAD === 'autocannon') return (binary = null);
  const found = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' });
  binary = found.status === 0 && found.stdout.trim() !== '' ? found.stdout.trim() : null;
  return binary;
}

export interface WrkInput {
  url: string;
  body: string;
  /** Authorization header values: one for every request, or several taken in turn (one per request). */
  authorizations: readonly string[];
  connections: number;
  durationS: number;
}

export interface WrkResult {
  requests: number;
  /** Answers with a status outside 2xx/3xx. */
  non2xx: number;
  /** Connect, read, write errors and timeouts. */
  errors: number;
  durationS: number;
  /** CPU seconds (user + system) wrk used. */
  cpuS: number;
}

const scriptDir = mkdtempSync(join(tmpdir(), 'xgw-wrk-'));
let scripts = 0;

const luaString = (text: string): string => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

function writeScript(input: WrkInput): string {
  const rotate = input.authorizations.length > 1;
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = ${luaString(input.body)}`,
    'wrk.headers["Content-Type"] = "application/json"',
    `wrk.headers["Authorization"] = ${luaString(input.authorizations[0] ?? '')}`,
  ];
  if (rotate) {
    lines.push(
      `local keys = { ${input.authorizations.map(luaString).join(', ')} }`,
      // Each thread starts at its own place in the list, so the keys are spread over the connections.
      'local i = math.random(#keys)',
      'request = function()',
      '  i = i % #keys + 1',
      '  wrk.headers["Authorization"] = keys[i]',
      '  return wrk.format()',
      'end',
    );
  }
  lines.push(
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format("XGWRK %d %d %d %d\\n", summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout))',
    'end',
  );
  const file = join(scriptDir, `load-${++scripts}.lua`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Runs wrk once; its CPU is read from the wrapping shell's children times (/proc/<pid>/stat cutime, cstime). */
export function runWrk(input: WrkInput): Promise<WrkResult> {
  const wrk = wrkBinary();
  if (wrk === null) return Promise.reject(new Error('wrk is not installed'));
  const script = writeScript(input);
  const threads = Math.max(1, Math.min(2, input.connections));
  // wrk takes whole seconds only; the result carries the duration it really ran.
  const seconds = Math.max(1, Math.round(input.durationS));
  const args = ['-t', String(threads), '-c', String(input.connections), '-d', `${seconds}s`, '--timeout', '30s', '-s', script, input.url];
  return new Promise((resolve, reject) => {
    const proc = spawn('sh', ['-c', '"$0" "$@"; status=$?; cat /proc/$$/stat 1>&2; exit $status', wrk, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const summary = /XGWRK (\d+) (\d+) (\d+) (\d+)/.exec(out);
      if (code !== 0 || summary === null) {
        reject(new Error(`wrk failed (exit ${String(code)}): ${out.slice(-500)} ${err.slice(-500)}`));
        return;
      }
      // Fields after the command name's closing parenthesis start at field 3; cutime and cstime are fields 16, 17.
      const stat = err.slice(err.lastIndexOf(')') + 2).trim().split(/\s+/);
      const ticks = Number(stat[13] ?? 0) + Number(stat[14] ?? 0);
      resolve({
        requests: Number(summary[1]),
        durationS: Number(summary[2]) / 1e6,
        non2xx: Number(summary[3]),
        errors: Number(summary[4]),
        cpuS: ticks / 100,
      });
    });
  });
}
