/**
 * The scale points of `npm run bench`: what changes when the load spreads over many client keys, and when
 * several gateway instances share one hot key family — the case capacity leases are for. Measured at 0 ms
 * upstream, 32 connections in all, the three setups interleaved in slices (order rotating each round):
 * - one instance, one key (the reference, as in the throughput table);
 * - one instance, 1,000 keys taken in turn, one per request;
 * - three instances, one key, the connections split evenly.
 * For each: answers per second, Redis CPU and script calls per request. Then requestsPerMinute exactness: a
 * key limited to RPM_LIMIT requests a minute is driven through the three instances for a few seconds with more
 * demand than that; exactly RPM_LIMIT must be answered 2xx.
 */
import type { Redis } from 'ioredis';
import { drive, type LoadPoint, type Target } from './load.js';
import { callsDelta, commandCalls, redisCpuSeconds } from './redis.js';
import { ADMIN_TOKEN, createKey, type CreatedKey } from './targets.js';

export const MANY_KEYS = 1000;
export const RPM_LIMIT = 3000;
const CONNECTIONS = 32;

export interface ScalePoint {
  label: string;
  instances: number;
  keys: number;
  connections: number;
  rps: number;
  non2xx: number;
  errors: number;
  redisUsPerRequest: number;
  scriptCallsPerRequest: number;
}

export interface ScaleResult {
  points: ScalePoint[];
  rpm: { limit: number; instances: number; seconds: number; served: number; refused: number; errors: number };
}

interface Setup {
  label: string;
  instances: number;
  keys: number;
  run(seconds: number): Promise<LoadPoint>;
}

const sumLoads = (loads: readonly LoadPoint[]): LoadPoint => ({
  connections: loads.reduce((s, l) => s + l.connections, 0),
  durationS: Math.max(...loads.map((l) => l.durationS)),
  rps: loads.reduce((s, l) => s + l.rps, 0),
  ok: loads.reduce((s, l) => s + l.ok, 0),
  non2xx: loads.reduce((s, l) => s + l.non2xx, 0),
  errors: loads.reduce((s, l) => s + l.errors, 0),
});

/** Creates `count` keys through the admin API, 16 at a time. */
async function createKeys(origin: string, count: number): Promise<CreatedKey[]> {
  const keys: CreatedKey[] = [];
  for (let start = 0; start < count; start += 16) {
    const batch = Array.from({ length: Math.min(16, count - start) }, (_, i) => createKey(origin, `bench-many-${start + i}`));
    keys.push(...(await Promise.all(batch)));
  }
  return keys;
}

/** Splits `total` connections over the instances (32 over 3: 11, 11, 10). */
const split = (total: number, parts: number): number[] => Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));

export async function measureScale(input: {
  origins: readonly string[];
  benchKey: CreatedKey;
  redis: Redis;
  seconds: number;
  rounds: number;
  warmupS: number;
  log: (message: string) => void;
}): Promise<ScaleResult> {
  const [first] = input.origins;
  if (first === undefined) throw new Error('no gateway instance');
  const target = (origin: string, key: CreatedKey): Target => ({ name: 'gateway', origin, authorization: `Bearer ${key.key}` });
  input.log(`scale: creating ${MANY_KEYS} client keys`);
  const many = await createKeys(first, MANY_KEYS);
  const manyAuth = many.map((key) => `Bearer ${key.key}`);
  const setups: Setup[] = [
    { label: '1 instance, 1 key', instances: 1, keys: 1, run: (s) => drive(target(first, input.benchKey), { connections: CONNECTIONS, durationS: s }) },
    {
      label: `1 instance, ${MANY_KEYS.toLocaleString('en-US')} keys`,
      instances: 1,
      keys: MANY_KEYS,
      run: (s) => drive(target(first, input.benchKey), { connections: CONNECTIONS, durationS: s, authorizations: manyAuth }),
    },
    {
      label: `${input.origins.length} instances, 1 key`,
      instances: input.origins.length,
      keys: 1,
      run: async (s) => {
        const shares = split(CONNECTIONS, input.origins.length);
        return sumLoads(await Promise.all(input.origins.map((origin, i) => drive(target(origin, input.benchKey), { connections: shares[i] ?? 1, durationS: s }))));
      },
    },
  ];
  // Warm-up: every key's record cached and every instance's pools formed.
  for (const setup of setups) await setup.run(input.warmupS);
  const totals = new Map<string, { load: LoadPoint; redisS: number; scriptCalls: number }>();
  for (let round = 0; round < input.rounds; round += 1) {
    for (let i = 0; i < setups.length; i += 1) {
      const setup = setups[(i + round) % setups.length] as Setup;
      const cpuBefore = await redisCpuSeconds(input.redis);
      const statsBefore = await commandCalls(input.redis);
      const load = await setup.run(input.seconds / input.rounds);
      const redisS = (await redisCpuSeconds(input.redis)) - cpuBefore;
      const delta = callsDelta(statsBefore, await commandCalls(input.redis));
      const scriptCalls = (delta.get('evalsha')?.calls ?? 0) + (delta.get('eval')?.calls ?? 0);
      const prior = totals.get(setup.label);
      totals.set(
        setup.label,
        prior === undefined
          ? { load, redisS, scriptCalls }
          : { load: { ...sumLoads([prior.load, load]), durationS: prior.load.durationS + load.durationS }, redisS: prior.redisS + redisS, scriptCalls: prior.scriptCalls + scriptCalls },
      );
    }
  }
  const points = setups.map((setup): ScalePoint => {
    const total = totals.get(setup.label) as { load: LoadPoint; redisS: number; scriptCalls: number };
    const answered = Math.max(1, total.load.ok + total.load.non2xx);
    const point: ScalePoint = {
      label: setup.label,
      instances: setup.instances,
      keys: setup.keys,
      connections: CONNECTIONS,
      rps: total.load.ok / total.load.durationS,
      non2xx: total.load.non2xx,
      errors: total.load.errors,
      redisUsPerRequest: (total.redisS * 1e6) / answered,
      scriptCallsPerRequest: total.scriptCalls / answered,
    };
    input.log(`scale: ${point.label}: ${Math.round(point.rps)} req/s, Redis ${point.redisUsPerRequest.toFixed(1)} µs and ${point.scriptCallsPerRequest.toFixed(3)} script calls per request`);
    return point;
  });

  // requestsPerMinute exactness across the instances: more demand than the limit, within one minute.
  const rpmKey = await createKey(first, 'bench-rpm', { requestsPerMinute: RPM_LIMIT });
  const seconds = 4;
  const shares = split(CONNECTIONS, input.origins.length);
  const loads = await Promise.all(input.origins.map((origin, i) => drive(target(origin, rpmKey), { connections: shares[i] ?? 1, durationS: seconds })));
  const load = sumLoads(loads);
  const rpm = { limit: RPM_LIMIT, instances: input.origins.length, seconds, served: load.ok, refused: load.non2xx, errors: load.errors };
  input.log(`scale: requestsPerMinute ${RPM_LIMIT} over ${rpm.instances} instances: ${rpm.served} answered 2xx, ${rpm.refused} refused`);
  // The key is revoked so that it cannot be confused with anything later in the run.
  await fetch(`${first}/admin/keys/${rpmKey.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return { points, rpm };
}
