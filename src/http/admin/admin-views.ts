import type { PlanConfig } from '../../config/types.js';

/** The most request-log lines one page answers (at least this many are kept per key). */
export const MAX_REQUEST_PAGE = 1000;

/** `GET /admin/plans`: each configured plan with what it grants (defaults spelled out: none). */
export function plansView(plans: Readonly<Record<string, PlanConfig>>): { data: unknown[] } {
  return {
    data: Object.entries(plans).map(([name, plan]) => ({
      name,
      models: plan.models ?? [],
      endpoints: plan.endpoints ?? [],
      collections: plan.collections ?? [],
      limits: plan.limits ?? {},
    })),
  };
}
