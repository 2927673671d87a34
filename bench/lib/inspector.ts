/**
 * The soak's leak check: the gateway's live JS heap after a full garbage collection, read through the V8
 * inspector (the soak starts its gateway with --inspect on a loopback port). RSS alone cannot tell a leak from
 * V8 keeping a grown heap committed; the heap that survives a full collection can.
 */
import { WebSocket } from 'undici';

interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

/** Forces a full GC in the process listening for the inspector on `port` and returns its used heap (MB). */
export async function liveHeapMb(port: number): Promise<number> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl?: unknown }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (typeof url !== 'string') throw new Error(`no inspector target on port ${port}`);
  const ws = new WebSocket(url);
  const pending = new Map<number, Pending>();
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: unknown; result?: unknown; error?: { message?: unknown } };
    if (typeof message.id !== 'number') return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(`inspector: ${String(message.error.message)}`));
    else waiter?.resolve(message.result);
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot connect to the inspector at ${url}`)), { once: true });
  });
  let nextId = 1;
  const call = (method: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId;
      nextId += 1;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params: {} }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    const usage = (await call('Runtime.getHeapUsage')) as { usedSize?: unknown };
    if (typeof usage.usedSize !== 'number') throw new Error('inspector: no usedSize in Runtime.getHeapUsage');
    return usage.usedSize / 1048576;
  } finally {
    ws.close();
  }
}
