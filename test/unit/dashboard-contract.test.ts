import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RequestRecord } from '../../src/activity/types.js';
import type { Overview as ServerOverview } from '../../src/activity/usage-reports.js';
import { USAGE_VIEW_FIELDS, type UsageView } from '../../src/activity/usage-view.js';
import type { Delivery as ServerDelivery } from '../../src/alerts/types.js';
import type { Delivery, Overview, RequestLine, Usage } from '../../src/dashboard/types.js';

/**
 * The dashboard is compiled apart (browser code, its own tsconfig and rootDir), so it declares the admin API's
 * answers again in src/dashboard/types.ts. These checks tie each of those copies to the type the server answers
 * with: a field renamed or retyped on the server fails `npm run typecheck` (part of `npm test`) here.
 */
describe('the dashboard reads the admin API as the server writes it', () => {
  it('usage, request lines, the overview and alert deliveries', () => {
    expectTypeOf<UsageView>().toEqualTypeOf<Usage>();
    expectTypeOf<RequestRecord>().toExtend<RequestLine>();
    expectTypeOf<ServerOverview>().toExtend<Overview>();
    expectTypeOf<ServerDelivery>().toExtend<Delivery>();
    // The usage fields the server lists (JSON keys and CSV columns) are the dashboard's, in one order.
    const dashboardUsage: Usage = { requests: 0, promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0, costUsd: 0, refused: 0, failed: 0 };
    expect(Object.keys(dashboardUsage)).toEqual([...USAGE_VIEW_FIELDS]);
  });
});
