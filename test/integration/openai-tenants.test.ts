import OpenAI, { NotFoundError, toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

// Tenant isolation as the official openai client sees it (docs/isolation.md): two tenants, each with its own client
// key, run the same files, responses and batches flows through the gateway; neither sees the other's objects.
let h: Harness;
let alice: OpenAI;
let bob: OpenAI;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'openai-tenants' });
  const scopes = { models: ['*'], endpoints: ['files', 'responses', 'batches', 'embeddings'] };
  const a = await h.createKey({ name: 'alice', ...scopes });
  const b = await h.createKey({ name: 'bob', ...scopes });
  alice = new OpenAI({ apiKey: a.key, baseURL: `${h.url}/v1`, maxRetries: 0 });
  bob = new OpenAI({ apiKey: b.key, baseURL: `${h.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await h.close();
});

interface Flow {
  fileId: string;
  responseId: string;
  streamedResponseId: string;
  batchId: string;
}

/** One tenant's whole flow, as an application would write it with the SDK. */
async function runFlow(client: OpenAI, name: string): Promise<Flow> {
  const file = await client.files.create({ file: await toFile(Buffer.from(`${name}'s private notes`), `${name}.txt`), purpose: 'assistants' });
  expect((await client.files.retrieve(file.id)).id).toBe(file.id);
  expect(await (await client.files.content(file.id)).text()).toBe(`${name}'s private notes`);

  const response = await client.responses.create({ model: 'grok-4-fast-reasoning', input: `hello from ${name}` });
  const followUp = await client.responses.create({ model: 'grok-4-fast-reasoning', input: 'and then?', previous_response_id: response.id });
  expect(followUp.previous_response_id).toBe(response.id);
  expect((await client.responses.retrieve(response.id)).id).toBe(response.id);

  const stream = await client.responses.create({ model: 'grok-4-fast-reasoning', input: 'stream please', stream: true });
  let streamedResponseId = '';
  for await (const event of stream) if (event.type === 'response.created') streamedResponseId = event.response.id;
  expect((await client.responses.retrieve(streamedResponseId)).id).toBe(streamedResponseId);

  // xAI's batch API differs from OpenAI's past create and retrieve (requests are added to a batch; `:cancel`).
  const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  expect((await client.batches.retrieve(batch.id)).id).toBe(batch.id);
  await client.post(`/batches/${batch.id}/requests`, {
    body: { batch_requests: [{ chat_get_completion: { model: 'grok-3-mini', messages: [{ role: 'user', content: 'x' }] } }] },
  });
  const results = await client.get<{ results: unknown[] }>(`/batches/${batch.id}/results`);
  expect(results.results).toHaveLength(1);
  return { fileId: file.id, responseId: response.id, streamedResponseId, batchId: batch.id };
}

async function fileIds(client: OpenAI): Promise<string[]> {
  const ids: string[] = [];
  for await (const file of client.files.list()) ids.push(file.id);
  return ids;
}

async function batchIds(client: OpenAI): Promise<string[]> {
  const list = await client.get<{ batches: { id: string }[] }>('/batches');
  return list.batches.map((b) => b.id);
}

describe('two tenants with the openai client', () => {
  it('each runs files, responses and batches; neither sees, reads, continues or deletes the other\'s', async () => {
    const a = await runFlow(alice, 'alice');
    const b = await runFlow(bob, 'bob');

    expect(await fileIds(alice)).toEqual([a.fileId]);
    expect(await fileIds(bob)).toEqual([b.fileId]);
    expect(await batchIds(alice)).toEqual([a.batchId]);
    expect(await batchIds(bob)).toEqual([b.batchId]);

    const attempts: [string, () => Promise<unknown>][] = [
      ['files.retrieve', () => bob.files.retrieve(a.fileId)],
      ['files.content', () => bob.files.content(a.fileId)],
      ['files.delete', () => bob.files.delete(a.fileId)],
      ['responses.retrieve', () => bob.responses.retrieve(a.responseId)],
      ['responses.retrieve (streamed)', () => bob.responses.retrieve(a.streamedResponseId)],
      ['responses.delete', () => bob.responses.delete(a.responseId)],
      ['previous_response_id', () => bob.responses.create({ model: 'grok-4-fast-reasoning', input: 'continue', previous_response_id: a.responseId })],
      ['input_file', () => bob.responses.create({ model: 'grok-4-fast-reasoning', input: [{ role: 'user', content: [{ type: 'input_file', file_id: a.fileId }] }] })],
      ['batches.retrieve', () => bob.batches.retrieve(a.batchId)],
      ['batch results', () => bob.get(`/batches/${a.batchId}/results`)],
      ['batch cancel', () => bob.post(`/batches/${a.batchId}:cancel`)],
    ];
    h.fake.reset();
    for (const [name, attempt] of attempts) {
      const error = await attempt().then(
        () => null,
        (err: unknown) => err,
      );
      expect(error, name).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).code, name).toBe('not_found');
    }
    expect(h.fake.requests).toHaveLength(0);

    // Alice's objects are untouched, and hers to delete.
    expect((await alice.responses.retrieve(a.responseId)).id).toBe(a.responseId);
    expect((await alice.files.delete(a.fileId)).deleted).toBe(true);
    expect(await fileIds(alice)).toEqual([]);
    expect(await fileIds(bob)).toEqual([b.fileId]);
  });

  it('embeddings come back as numbers though the SDK asks for base64', async () => {
    const result = await alice.embeddings.create({ model: 'v1', input: ['a', 'bbbb'] });
    expect(result.data).toHaveLength(2);
    expect(result.data[0]?.embedding).toHaveLength(3);
    expect(result.data[0]?.embedding[1]).toBeCloseTo(0.0632, 4);
    expect(h.fake.requests.at(-1)?.body.toString('utf8')).toContain('"encoding_format":"base64"');
  });
});
