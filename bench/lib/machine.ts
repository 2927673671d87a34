/** The machine a run was measured on, for BENCHMARKS.md. */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release } from 'node:os';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  kernel: string;
  node: string;
  redis: string;
  loadAverage: number[];
}

function procField(file: string, pattern: RegExp): string | undefined {
  try {
    return pattern.exec(readFileSync(file, 'utf8'))?.[1]?.trim();
  } catch {
    return undefined;
  }
}

export function describeMachine(redisVersion: string): Machine {
  const memKb = Number(procField('/proc/meminfo', /^MemTotal:\s+(\d+)\s+kB/m) ?? Number.NaN);
  return {
    cpus: availableParallelism(),
    cpuModel: procField('/proc/cpuinfo', /^model name\s*:\s*(.+)$/m) ?? 'unknown',
    memoryGb: Math.round((memKb / 1024 / 1024) * 10) / 10,
    kernel: `Linux ${release()}`,
    node: process.version,
    redis: redisVersion,
    loadAverage: loadavg(),
  };
}
