import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startHarness, type Harness } from '../helpers/harness.js';

// GET /admin/keys/:id/children (the dashboard's key page lists a key's child keys), on Redis.

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ store: 'redis', name: 'admin-children' });
});

afterAll(async () => {
  await h.close();
});

async function mint(parentKey: string, name: string): Promise<{ id: string; key: string }> {
  const response = await postJson(`${h.url}/gateway/keys`, { name, ttlSeconds: 300 }, { authorization: `Bearer ${parentKey}` });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; key: string };
}

interface Listed {
  data: Record<string, unknown>[];
}

describe('GET /admin/keys/:id/children', () => {
  it('lists the children oldest first, with their state, never a secret; revoking the parent shows them revoked', async () => {
    const parent = await h.createKey({ name: 'backend', models: ['*'], endpoints: ['*'], mint: { maxTtlSeconds: 600 } });
    const other = await h.createKey({ name: 'other-backend', models: ['*'], endpoints: ['*'], mint: { maxTtlSeconds: 600 } });
    const first = await mint(parent.key, 'session-1');
    const second = await mint(parent.key, 'session-2');
    await mint(other.key, 'not-mine');

    const response = await h.admin('GET', `/admin/keys/${parent.id}/children`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const listed = JSON.parse(text) as Listed;
    expect(listed.data.map((c) => [c['id'], c['name'], c['parentId'], c['state']])).toEqual([
      [first.id, 'session-1', parent.id, 'active'],
      [second.id, 'session-2', parent.id, 'active'],
    ]);
    for (const secret of [first.key, second.key, parent.key]) expect(text).not.toContain(secret);
    expect(listed.data.every((c) => !('key' in c))).toBe(true);

    expect((await h.admin('DELETE', `/admin/keys/${parent.id}`)).status).toBe(200);
    const after = (await (await h.admin('GET', `/admin/keys/${parent.id}/children`)).json()) as Listed;
    expect(after.data.map((c) => c['state'])).toEqual(['revoked', 'revoked']);
  });

  it('answers an empty list for a key without children', async () => {
    const plain = await h.createKey({ name: 'plain' });
    expect(await (await h.admin('GET', `/admin/keys/${plain.id}/children`)).json()).toEqual({ data: [] });
  });

  it('is 404 not_found for an unknown key', async () => {
    const response = await h.admin('GET', '/admin/keys/key_doesNotExist/children');
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('is 401 invalid_admin_token without the admin token, and never opens with a client key', async () => {
    const parent = await h.createKey({ name: 'guarded', models: ['*'], endpoints: ['*'], mint: { maxTtlSeconds: 600 } });
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Bearer ${parent.key}`]) {
      const response = await fetch(`${h.url}/admin/keys/${parent.id}/children`, { headers: authorization === undefined ? {} : { authorization } });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_admin_token');
    }
  });
});

describe('with the admin API off', () => {
  it('is 404, like the rest of the admin API', async () => {
    const off = await startHarness({ store: 'memory', name: 'admin-children-off', env: { GATEWAY_ADMIN_TOKEN: '' } });
    try {
      const response = await fetch(`${off.url}/admin/keys/key_any/children`);
      expect(response.status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
