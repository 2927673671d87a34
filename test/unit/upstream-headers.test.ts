import { describe, expect, it } from 'vitest';
import { buildClientHeaders, buildUpstreamHeaders } from '../../src/upstream/headers.js';

// The header rules of docs/api.md in both directions, including the shapes Node and undici hand over: names in
// lower case (or not, from other callers), multi-valued fields as arrays, Connection present or not.

describe('request headers sent upstream', () => {
  it('drops credentials, cookies, hop-by-hop and Connection-listed fields; sets the upstream key and identity', () => {
    const out = buildUpstreamHeaders(
      {
        host: 'gateway.example',
        connection: 'keep-alive, X-Custom-Hop',
        'x-custom-hop': '1',
        'keep-alive': 'timeout=5',
        authorization: 'Bearer xgw_client',
        'x-api-key': 'xgw_client',
        cookie: 'a=b',
        'content-length': '12',
        'accept-encoding': 'gzip',
        expect: '100-continue',
        te: 'trailers',
        'content-type': 'application/json',
        'x-grok-conv-id': 'conv-1',
        accept: ['application/json', 'text/event-stream'],
        'x-absent': undefined,
      },
      'xai-upstream',
    );
    expect(out).toEqual({
      'content-type': 'application/json',
      'x-grok-conv-id': 'conv-1',
      accept: ['application/json', 'text/event-stream'],
      authorization: 'Bearer xai-upstream',
      'accept-encoding': 'identity',
    });
    expect(Object.keys(out)).toEqual(['content-type', 'x-grok-conv-id', 'accept', 'authorization', 'accept-encoding']);
  });

  it('without a Connection field only the fixed lists apply; names are lower-cased; arrays are copied', () => {
    const accept = ['a/b', 'c/d'];
    const out = buildUpstreamHeaders({ 'Content-Type': 'application/json', Upgrade: 'h2c', Accept: accept }, 'k');
    expect(out).toEqual({ 'content-type': 'application/json', accept: ['a/b', 'c/d'], authorization: 'Bearer k', 'accept-encoding': 'identity' });
    expect(out.accept).not.toBe(accept);
  });

  it('a Connection field sent twice (an array) lists names from every line', () => {
    const out = buildUpstreamHeaders({ connection: ['x-one', ' X-Two ,'], 'x-one': '1', 'x-two': '2', 'x-three': '3' }, 'k');
    expect(out).toEqual({ 'x-three': '3', authorization: 'Bearer k', 'accept-encoding': 'identity' });
  });
});

describe('response headers relayed to the client', () => {
  it('drops cookies, lengths, date, server, hop-by-hop and rate-limit fields; renames the request id', () => {
    const out = buildClientHeaders({
      'content-type': 'text/event-stream',
      'content-length': '42',
      date: 'Thu, 26 Nov 2026 19:21:46 GMT',
      server: 'upstream',
      'set-cookie': ['a=b', 'c=d'],
      connection: 'keep-alive',
      'keep-alive': 'timeout=72',
      'x-request-id': 'xai-1',
      'x-ratelimit-remaining-requests': '9',
      'cache-control': 'no-cache',
      vary: ['accept', 'origin'],
    });
    expect(out).toEqual({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', vary: ['accept', 'origin'], 'x-upstream-request-id': 'xai-1' });
  });

  it('no Connection field and no request id: everything else passes', () => {
    expect(buildClientHeaders({ 'content-type': 'application/json', 'x-trace': 't' })).toEqual({ 'content-type': 'application/json', 'x-trace': 't' });
  });
});
