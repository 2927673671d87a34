/**
 * One throughput point: every target driven at the same number of connections, interleaved in short slices
 * (the order rotating each round) so background load that comes and goes on a shared machine falls on all
 * targets alike; with the CPU each process spent per answered request, and the machine's CPU spent by
 * processes outside the benchmark during the point.
 */
import type { Redis } from 'ioredis';
import { cpuSeconds, systemBusySeconds } from './children.js';
import { drive, type LoadPoint, type Target } from './load.js';
import { callsDelta, commandCalls, redisCpuSeconds, type CommandStat } from './redis.js';

type TargetName = Target['name'];

/** CPU ms per answered request: the load generator, the fake, the proxy under test (0 for direct), Redis (whole server). */
export interface CpuPerRequest {
  driver: number;
  fake: number;
  proxy: number;
  redis: number;
}

export type MeasuredPoint = LoadPoint & {
  cpuPerRequest: CpuPerRequest;
  /** CPU used by processes outside the benchmark during this target's slices, as a share of the whole machine. */
  foreignCpuShare: number;
};

interface Sample {
  wall: number;
  driver: number;
  fake: number;
  proxy: number;
  redis: number;
  busy: number;
}

async function sample(redis: Redis, fakePid: number, proxyPid: number | null): Promise<Sample> {
  const usage = process.cpuUsage();
  return {
    wall: performance.now() / 1000,
    driver: (usage.user + usage.system) / 1e6,
    fake: cpuSeconds(fakePid),
    proxy: proxyPid === null ? 0 : cpuSeconds(proxyPid),
    redis: await redisCpuSeconds(redis),
    busy: systemBusySeconds(),
  };
}

export interface PointInput {
  targets: readonly Target[];
  connections: number;
  /** Measured seconds per target, split into `rounds` slices. */
  seconds: number;
  rounds: number;
  warmupS: number;
  redis: Redis;
  cpus: number;
  pids: { fake: number; nginx: number; floor: number; gateway: number };
  /** Also take INFO commandstats deltas over the gateway's slices. */
  commandStats: boolean;
}

export interface PointResult {
  points: Record<TargetName, MeasuredPoint>;
  /** Gateway slices only, when asked: commands by name and the requests they served. */
  gatewayCommands: { requests: number; byCommand: Map<string, CommandStat> } | null;
}

export async function measurePoint(input: PointInput): Promise<PointResult> {
  for (const target of input.targets) await drive(target, { connections: input.connections, durationS: input.warmupS });
  const totals = new Map<TargetName, { load: LoadPoint; spent: Sample }>();
  const commands = new Map<string, CommandStat>();
  let commandRequests = 0;
  const slice = input.seconds / input.rounds;
  for (let round = 0; round < input.rounds; round += 1) {
    const order = input.targets.map((_, i) => input.targets[(i + round) % input.targets.length] as Target);
    for (const target of order) {
      const proxyPid = target.name === 'direct' ? null : input.pids[target.name];
      const statsBefore = input.commandStats && target.name === 'gateway' ? await commandCalls(input.redis) : null;
      const before = await sample(input.redis, input.pids.fake, proxyPid);
      const load = await drive(target, { connections: input.connections, durationS: slice });
      const after = await sample(input.redis, input.pids.fake, proxyPid);
      if (statsBefore !== null) {
        for (const [name, d] of callsDelta(statsBefore, await commandCalls(input.redis))) {
          const prior = commands.get(name) ?? { calls: 0, usec: 0 };
          commands.set(name, { calls: prior.calls + d.calls, usec: prior.usec + d.usec });
        }
        commandRequests += load.ok + load.non2xx;
      }
      const spent = Object.fromEntries(Object.keys(before).map((k) => [k, after[k as keyof Sample] - before[k as keyof Sample]])) as unknown as Sample;
      spent.driver += load.generatorCpuS ?? 0;
      const prior = totals.get(target.name);
      totals.set(target.name, prior === undefined ? { load, spent } : { load: addLoad(prior.load, load), spent: addSample(prior.spent, spent) });
    }
  }
  const points = Object.fromEntries(
    input.targets.map((t) => {
      const { load, spent } = totals.get(t.name) as { load: LoadPoint; spent: Sample };
      const answered = Math.max(1, load.ok + load.non2xx);
      const perRequest = (seconds: number): number => (seconds * 1000) / answered;
      const ours = spent.driver + spent.fake + spent.proxy + spent.redis;
      const point: MeasuredPoint = {
        ...load,
        cpuPerRequest: { driver: perRequest(spent.driver), fake: perRequest(spent.fake), proxy: perRequest(spent.proxy), redis: perRequest(spent.redis) },
        foreignCpuShare: Math.max(0, spent.busy - ours) / (spent.wall * input.cpus),
      };
      return [t.name, point];
    }),
  ) as Record<TargetName, MeasuredPoint>;
  return { points, gatewayCommands: input.commandStats ? { requests: commandRequests, byCommand: commands } : null };
}

function addLoad(a: LoadPoint, b: LoadPoint): LoadPoint {
  const durationS = a.durationS + b.durationS;
  const ok = a.ok + b.ok;
  return { connections: a.connections, durationS, rps: ok / durationS, ok, non2xx: a.non2xx + b.non2xx, errors: a.errors + b.errors, generatorCpuS: (a.generatorCpuS ?? 0) + (b.generatorCpuS ?? 0) };
}

function addSample(a: Sample, b: Sample): Sample {
  return {
    wall: a.wall + b.wall,
    driver: a.driver + b.driver,
    fake: a.fake + b.fake,
    proxy: a.proxy + b.proxy,
    redis: a.redis + b.redis,
    busy: a.busy + b.busy,
  };
}
