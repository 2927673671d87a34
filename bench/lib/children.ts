/**
 * Child processes of the benchmark (fake xAI, floor proxy, gateway, possibly redis-server): started with
 * their output in a log file, awaited until ready, and always stopped — by the caller's finally, and by a
 * last-resort SIGKILL on exit so a crash of the driver never leaves one behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();

process.on('exit', () => {
  for (const proc of live) {
    try {
      proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export interface StartChildInput {
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  logPath: string;
  /** A stdout line matching this, or a probe resolving true, means ready. */
  ready: RegExp | (() => Promise<boolean>);
  timeoutMs?: number;
}

export async function startChild(input: StartChildInput): Promise<Child> {
  const ready = input.ready;
  if (!(ready instanceof RegExp)) {
    // Readiness by probe: the output goes straight to the file, so a busy driver never backs the child's
    // stdout up (a logger buffering what it cannot write would inflate the child's memory).
    const fd = openSync(input.logPath, 'a');
    const proc = spawn(input.command, [...input.args], { env: input.env ?? process.env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    return watch(proc, input, () => ready());
  }
  const log = createWriteStream(input.logPath, { flags: 'a' });
  const proc = spawn(input.command, [...input.args], {
    env: input.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.stdout === null || proc.stderr === null) throw new Error(`${input.name}: no output pipes`);
  proc.stderr.pipe(log, { end: false });
  let sawReadyLine = false;
  createInterface({ input: proc.stdout }).on('line', (line) => {
    log.write(`${line}\n`);
    if (ready.test(line)) sawReadyLine = true;
  });
  return watch(proc, input, async () => sawReadyLine);
}

/** Tracks the process, waits until `isReady` (or fails when it exits first or takes too long). */
async function watch(proc: ChildProcess, input: StartChildInput, isReady: () => Promise<boolean>): Promise<Child> {
  live.add(proc);
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      live.delete(proc);
      resolve();
    });
  });
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });

  const deadline = Date.now() + (input.timeoutMs ?? 15_000);
  for (;;) {
    if (exitedEarly) throw new Error(`${input.name} exited while starting; log: ${input.logPath}\n${tail(input.logPath)}`);
    if (await isReady().catch(() => false)) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${input.name} was not ready in time; log: ${input.logPath}\n${tail(input.logPath)}`);
    }
    await delay(50);
  }

  const pid = proc.pid;
  if (pid === undefined) throw new Error(`${input.name}: no pid`);
  return {
    name: input.name,
    pid,
    logPath: input.logPath,
    async stop(graceMs = 5_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resident set size of a process in MB (VmRSS of /proc/<pid>/status). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (match?.[1] === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

let clockTicks: number | null = null;

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat utime + stime). */
export function cpuSeconds(pid: number): number {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at ") "; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Busy CPU seconds of the whole machine so far (/proc/stat: everything but idle and iowait). */
export function systemBusySeconds(): number {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / clockTicks;
}
