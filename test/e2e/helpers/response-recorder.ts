import type { CDPSession, Page } from 'playwright-core';

/**
 * Every response body the page received, byte for byte, read over the Chrome DevTools Protocol. Playwright's
 * response.body() cannot return a stream the page cancelled (the example page cancels its reader at
 * `data: [DONE]`), so each response is switched to streaming as soon as its headers arrive
 * (Network.streamResourceContent: what was buffered so far, then every later chunk as Network.dataReceived);
 * one that finished before that is read whole with Network.getResponseBody.
 */
export interface RecordedResponse {
  url: string;
  status: number;
  headers: Readonly<Record<string, string>>;
  /** null: the body could not be read (a redirect has none). */
  body: string | null;
}

interface Entry {
  url: string;
  status: number;
  headers: Record<string, string>;
  buffered: Buffer | null;
  later: Buffer[];
  streaming: Promise<boolean>;
  finished: Promise<Buffer | null>;
}

export interface ResponseRecorder {
  /** Waits for every response seen so far to end, then answers them in arrival order. */
  responses(): Promise<RecordedResponse[]>;
  close(): Promise<void>;
}

export async function recordResponses(page: Page): Promise<ResponseRecorder> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const entries = new Map<string, Entry>();
  const ended = new Map<string, () => void>();

  cdp.on('Network.responseReceived', (event) => {
    let end: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (end = resolve));
    ended.set(event.requestId, end);
    const entry: Entry = {
      url: event.response.url,
      status: event.response.status,
      headers: Object.fromEntries(Object.entries(event.response.headers).map(([k, v]) => [k.toLowerCase(), String(v)])),
      buffered: null,
      later: [],
      streaming: cdp.send('Network.streamResourceContent', { requestId: event.requestId }).then(
        ({ bufferedData }) => {
          entry.buffered = Buffer.from(bufferedData, 'base64');
          return true;
        },
        () => false,
      ),
      finished: Promise.resolve(null),
    };
    entry.finished = done.then(async () => {
      if (await entry.streaming) return Buffer.concat([entry.buffered ?? Buffer.alloc(0), ...entry.later]);
      try {
        const { body, base64Encoded } = await cdp.send('Network.getResponseBody', { requestId: event.requestId });
        return Buffer.from(body, base64Encoded ? 'base64' : 'utf8');
      } catch {
        return null;
      }
    });
    entries.set(event.requestId, entry);
  });
  cdp.on('Network.dataReceived', (event) => {
    const entry = entries.get(event.requestId);
    if (entry !== undefined && event.data !== undefined) entry.later.push(Buffer.from(event.data, 'base64'));
  });
  cdp.on('Network.loadingFinished', (event) => ended.get(event.requestId)?.());
  // A stream the page cancelled after its last event ends as "failed"; what arrived before still counts.
  cdp.on('Network.loadingFailed', (event) => ended.get(event.requestId)?.());

  return {
    async responses() {
      const list = [...entries.values()];
      const bodies = await Promise.all(list.map((entry) => entry.finished));
      return list.map((entry, i) => ({ url: entry.url, status: entry.status, headers: entry.headers, body: bodies[i]?.toString('utf8') ?? null }));
    },
    async close() {
      await cdp.detach();
    },
  };
}
