import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

/**
 * A real Redis Cluster of `redis-server` processes on loopback, for the Cluster tests (docs/operations.md): every node in
 * its own process with its own cluster config in a temporary directory, joined by `redis-cli --cluster create`.
 * `close()` stops every process it started and removes the directory; a process exit hook kills leftovers if
 * the test process ends without calling it.
 */

const run = promisify(execFile);
const HOST = '127.0.0.1';
/** Cluster bus port = port + 10000, so data ports stay below 55536; this range avoids Linux's ephemeral ports. */
const PORT_RANGE = { min: 20_000, max: 30_000 } as const;

export interface RedisClusterNode {
  host: string;
  port: number;
}

export interface RedisCluster {
  nodes: readonly RedisClusterNode[];
  /** `redis://127.0.0.1:<port>` seeds, as `store.clusterNodes` / REDIS_CLUSTER_NODES take them. */
  urls: readonly string[];
  /** Runs redis-cli against one node; resolves with its stdout. */
  cli(node: RedisClusterNode, ...args: string[]): Promise<string>;
  close(): Promise<void>;
}

export interface RedisClusterOptions {
  masters?: number;
  /** Budget for starting the nodes and for the cluster to report cluster_state:ok (each). */
  timeoutMs?: number;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const probe = createServer();
    probe.once('error', () => resolvePort(false));
    probe.listen(port, HOST, () => probe.close(() => resolvePort(true)));
  });
}

/** A port whose cluster bus port (+10000) is free too; `taken` avoids handing out one twice. */
async function freePortPair(taken: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = PORT_RANGE.min + Math.floor(Math.random() * (PORT_RANGE.max - PORT_RANGE.min));
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) return port;
  }
  throw new Error('redis-cluster: no free port pair found');
}

async function cli(node: RedisClusterNode, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', node.host, '-p', String(node.port), ...args], { timeout: 10_000 });
  return stdout;
}

/** Polls `check` until it holds; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`redis-cluster: ${what} not reached within ${timeoutMs} ms`);
    await delay(100);
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stop(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill('SIGTERM');
  const killed = await Promise.race([gone.then(() => true), delay(3_000).then(() => false)]);
  if (!killed) {
    child.kill('SIGKILL');
    await gone;
  }
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const dir = await mkdtemp(join(tmpdir(), 'xgw-redis-cluster-'));
  const children: ChildProcess[] = [];
  const killLeftovers = (): void => {
    for (const child of children) if (!exited(child)) child.kill('SIGKILL');
  };
  process.once('exit', killLeftovers);

  const close = async (): Promise<void> => {
    await Promise.all(children.map(stop));
    process.removeListener('exit', killLeftovers);
    await rm(dir, { recursive: true, force: true });
  };

  /** One node; a port taken between the check and the bind makes redis-server exit, so another is tried. */
  async function startNode(taken: Set<number>): Promise<RedisClusterNode> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const port = await freePortPair(taken);
      taken.add(port);
      taken.add(port + 10_000);
      // Nothing persisted: the data and the cluster config live and die with the test (§ "leave nothing running").
      const child = spawn(
        'redis-server',
        [
          '--port', String(port), '--bind', HOST,
          '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout', '5000',
          '--save', '', '--appendonly', 'no', '--dir', dir,
          '--logfile', join(dir, `redis-${port}.log`),
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
      const node = { host: HOST, port };
      // An exited process ends the wait at once (then another port is tried), a slow one gets the whole budget.
      await waitFor(`redis-server on ${port} answering`, timeoutMs, async () => exited(child) || (await cli(node, 'ping')).trim() === 'PONG');
      if (!exited(child)) return node;
    }
    throw new Error('redis-cluster: redis-server did not start (is it installed?)');
  }

  try {
    const taken = new Set<number>();
    const nodes: RedisClusterNode[] = [];
    for (let i = 0; i < masters; i += 1) nodes.push(await startNode(taken));
    await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: timeoutMs },
    );
    // Every node must agree: all slots served and all masters known, else the first commands get CLUSTERDOWN.
    await waitFor('cluster_state:ok on every node', timeoutMs, async () => {
      const infos = await Promise.all(nodes.map((node) => cli(node, 'cluster', 'info')));
      return infos.every(
        (info) =>
          info.includes('cluster_state:ok') &&
          info.includes('cluster_slots_ok:16384') &&
          info.includes(`cluster_known_nodes:${masters}`),
      );
    });
    return { nodes, urls: nodes.map((n) => `redis://${n.host}:${n.port}`), cli, close };
  } catch (error) {
    await close();
    throw error;
  }
}
