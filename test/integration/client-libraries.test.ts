import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, UPSTREAM_KEY, type Harness } from '../helpers/harness.js';

// The seed guide's own client code, and the official openai client, pointed at the gateway.
const run = promisify(execFile);

let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startHarness({ store: 'memory', name: 'client-libraries' });
  ({ key } = await h.createKey({ name: 'clients', models: ['grok-4'], endpoints: ['chat.completions', 'models'] }));
});

afterAll(async () => {
  await h.close();
});

/** A Python with `requests` (the image's python3, else Debian's, which .ci/run provides it for). */
async function pythonWithRequests(): Promise<string> {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    try {
      await run(candidate, ['-c', 'import requests']);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error('no python3 with the requests module: .ci/run installs python3-requests');
}

describe('the seed guide examples', () => {
  it('Python requests example works unchanged but for the URL and key', async () => {
    const script = `
import requests
url = "${h.url}/v1/chat/completions"
headers = { "Authorization": "Bearer ${key}", "Content-Type": "application/json" }
data = { "model": "grok-4", "messages": [ {"role": "user", "content": "Your prompt here"} ], "max_tokens": 150 }
response = requests.post(url, headers=headers, json=data)
print(response.json())
`;
    h.fake.reset();
    const { stdout } = await run(await pythonWithRequests(), ['-c', script]);
    expect(stdout).toContain("'object': 'chat.completion'");
    expect(stdout).toContain("'choices'");
    expect(stdout).not.toContain(UPSTREAM_KEY);
    expect(h.fake.requests[0]?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
  });

  it('JavaScript fetch example works unchanged but for the URL and key', async () => {
    const response = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'grok-4', messages: [{ role: 'user', content: 'Your prompt here' }], max_tokens: 150 }),
    });
    const body = (await response.json()) as { object: string; choices: { message: { content: string } }[] };
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0]?.message.content.length).toBeGreaterThan(0);
  });
});

describe('the official openai client with baseURL set to the gateway', () => {
  const client = (): OpenAI => new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 0 });

  it('completes a chat', async () => {
    const completion = await client().chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'hello' }], max_tokens: 50 });
    expect(completion.choices[0]?.message.content).toBeTruthy();
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('streams a chat', async () => {
    h.fake.reset();
    const stream = await client().chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'hello' }], stream: true });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.delta.content ?? '';
      expect(chunk.usage ?? undefined).toBeUndefined();
    }
    expect(chunks).toBeGreaterThan(1);
    expect(text.length).toBeGreaterThan(0);
  });

  it('streams with usage when the client asks for it', async () => {
    const stream = await client().chat.completions.create({
      model: 'grok-4',
      messages: [{ role: 'user', content: 'hello' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let total = 0;
    for await (const chunk of stream) total = chunk.usage?.total_tokens ?? total;
    expect(total).toBeGreaterThan(0);
  });

  it('lists models filtered to the key', async () => {
    const page = await client().models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => id.startsWith('grok-4'))).toBe(true);
  });

  it('surfaces the gateway\'s errors as the SDK\'s typed errors', async () => {
    const refused = client().chat.completions.create({ model: 'grok-3', messages: [{ role: 'user', content: 'x' }] });
    await expect(refused).rejects.toMatchObject({ status: 403, code: 'model_not_allowed' });
    const bad = new OpenAI({ apiKey: 'xgw_wrong', baseURL: `${h.url}/v1`, maxRetries: 0 });
    await expect(bad.chat.completions.create({ model: 'grok-4', messages: [] })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
