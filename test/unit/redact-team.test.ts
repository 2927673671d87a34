import { describe, expect, it } from 'vitest';
import { redactTeamIds } from '../../src/upstream/redact-team.js';

describe('redactTeamIds: the operator\'s xAI team never reaches a client', () => {
  it.each([
    [
      'Your team fae4735c-1b2c-4d5e-8f90-0123456789ab has either used all available credits or reached its monthly spending limit.',
      'Your team <team> has either used all available credits or reached its monthly spending limit.',
    ],
    ['The model grok-4.3 does not exist or your team team-1 does not have access to it.', 'The model grok-4.3 does not exist or your team <team> does not have access to it.'],
    ['You can purchase those on https://console.x.ai/team/5ea6f6bd-7815-4b8a-9135-28b2d7ba6722.', 'You can purchase those on https://console.x.ai/team/<team>.'],
    ['{"code":"not-found","error":"... or your team fake-team does not have access to it."}', '{"code":"not-found","error":"... or your team <team> does not have access to it."}'],
  ])('%s', (text, expected) => {
    expect(redactTeamIds(text)).toBe(expected);
  });

  it.each([
    "Your newly created team doesn't have any credits or licenses yet.",
    'The service is temporarily at capacity. Please retry your request shortly.',
    'team work',
  ])('leaves words alone: %s', (text) => {
    expect(redactTeamIds(text)).toBe(text);
  });
});
