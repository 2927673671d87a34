import type { PlanConfig } from './types.js';

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
