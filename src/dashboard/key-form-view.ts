import { ENDPOINT_NAMES, LIMIT_LABELS, LIMIT_NAMES, type LimitName } from './constants.js';
import { el, replaceChildren, type Child } from './dom.js';
import type { CreateFormValues, ExpiryChoice } from './key-form.js';
import type { Plan } from './types.js';

function field(input: { id: string; label: string; control: HTMLElement; hint?: string }): HTMLElement {
  if (input.hint !== undefined) input.control.setAttribute('aria-describedby', `${input.id}-hint`);
  return el(
    'div',
    { class: 'field' },
    el('label', { for: input.id }, input.label),
    input.control,
    input.hint === undefined ? null : el('p', { id: `${input.id}-hint`, class: 'hint' }, input.hint),
  );
}

function fieldset(legend: string, hint: string | null, ...children: Child[]): HTMLFieldSetElement {
  return el('fieldset', {}, el('legend', {}, legend), hint === null ? null : el('p', { class: 'hint' }, hint), ...children);
}

function radio(input: { name: string; value: string; label: string; checked?: boolean }): HTMLElement {
  const id = `${input.name}-${input.value}`;
  return el('div', { class: 'check' }, el('input', { type: 'radio', id, name: input.name, value: input.value, checked: input.checked ?? false }), el('label', { for: id }, input.label));
}

function listText(list: readonly string[]): string {
  return list.length === 0 ? 'none' : list.join(', ');
}

/** What a plan grants, shown beside the plan picker so the operator sees what the key inherits. */
export function planSummary(plan: Plan | undefined): HTMLElement {
  if (plan === undefined) return el('p', { class: 'hint', 'data-testid': 'plan-grants' }, 'No plan: the key has only what this form gives it.');
  const limits = Object.entries(plan.limits);
  return el(
    'dl',
    { class: 'details plan-grants', 'data-testid': 'plan-grants' },
    el('dt', {}, 'Models'),
    el('dd', {}, listText(plan.models)),
    el('dt', {}, 'Endpoints'),
    el('dd', {}, listText(plan.endpoints)),
    el('dt', {}, 'Collections'),
    el('dd', {}, listText(plan.collections)),
    el('dt', {}, 'Limits'),
    el('dd', {}, limits.length === 0 ? 'none' : limits.map(([name, value]) => `${name}: ${value}`).join(', ')),
  );
}

export interface KeyForm {
  form: HTMLFormElement;
  submit: HTMLButtonElement;
  problem: HTMLElement;
  values: () => CreateFormValues;
}

/**
 * The key form shared by create and edit: every field PATCH can change (docs/api.md), a plan picked from the
 * configured plans with what it grants, and (edit only) an expiry choice that keeps the current one.
 */
export function keyForm(options: { plans: readonly Plan[]; initial: CreateFormValues | null; submitLabel: string; headingId: string; currentExpiry?: string | null }): KeyForm {
  const initial = options.initial;
  const name = el('input', { id: 'key-name', name: 'name', required: true, maxlength: 200, autocomplete: 'off', value: initial?.name ?? '' });
  const planNames = options.plans.map((p) => p.name);
  const chosenPlan = initial?.plan ?? '';
  const plan = el(
    'select',
    { id: 'key-plan', name: 'plan' },
    el('option', { value: '', selected: chosenPlan === '' }, '(no plan)'),
    ...options.plans.map((p) => el('option', { value: p.name, selected: p.name === chosenPlan }, p.name)),
    chosenPlan !== '' && !planNames.includes(chosenPlan) ? el('option', { value: chosenPlan, selected: true }, `${chosenPlan} (not in the config)`) : null,
  );
  const grants = el('div', {}, planSummary(options.plans.find((p) => p.name === chosenPlan)));
  plan.addEventListener('change', () => replaceChildren(grants, planSummary(options.plans.find((p) => p.name === plan.value))));
  const models = el('textarea', { id: 'key-models', name: 'models', rows: 2, spellcheck: 'false' }, initial?.models ?? '');
  const endpointBoxes = ['*', ...ENDPOINT_NAMES].map((endpoint) => {
    const id = `endpoint-${endpoint === '*' ? 'all' : endpoint.replace('.', '-')}`;
    const box = el('input', { type: 'checkbox', id, name: 'endpoints', value: endpoint, checked: initial?.endpoints.includes(endpoint) ?? false });
    return { box, node: el('div', { class: 'check' }, box, el('label', { for: id }, endpoint === '*' ? 'All endpoints (*)' : el('code', {}, endpoint))) };
  });
  const collections = el('textarea', { id: 'key-collections', name: 'collections', rows: 2, spellcheck: 'false' }, initial?.collections ?? '');
  const limitInputs = new Map<LimitName, HTMLInputElement>();
  const limitFields = LIMIT_NAMES.map((limit) => {
    const input = el('input', { id: `limit-${limit}`, name: limit, type: 'number', min: 0, step: limit.endsWith('Usd') ? 'any' : 1, inputmode: 'decimal', value: initial?.limits[limit] ?? '' });
    limitInputs.set(limit, input);
    return field({ id: `limit-${limit}`, label: LIMIT_LABELS[limit], control: input });
  });
  const editing = initial !== null;
  const hours = el('input', { id: 'expiry-hours', name: 'expiry-hours', type: 'number', min: 0, step: 'any', value: 720 });
  const at = el('input', { id: 'expiry-date', name: 'expiry-date', type: 'datetime-local' });
  const origins = el('textarea', { id: 'key-origins', name: 'allowedOrigins', rows: 2, spellcheck: 'false' }, initial?.origins ?? '');
  const ips = el('textarea', { id: 'key-ips', name: 'allowedIps', rows: 2, spellcheck: 'false' }, initial?.ips ?? '');
  const metadata = el('textarea', { id: 'key-metadata', name: 'metadata', rows: 2, spellcheck: 'false' }, initial?.metadata ?? '');
  const mint = el('input', { id: 'key-mint', name: 'mint', type: 'number', min: 1, step: 1, value: initial?.mintMaxTtlSeconds ?? '' });
  const submit = el('button', { type: 'submit', class: 'button primary' }, options.submitLabel);
  const problem = el('div', { class: 'form-problem' });
  const current = options.currentExpiry ?? null;

  const form = el(
    'form',
    // novalidate: the form's own checks (key-form.ts) name every problem at once, in words, rather than the
    // browser stopping at the first field.
    { class: 'key-form', 'aria-labelledby': options.headingId, novalidate: true },
    fieldset(
      'Key',
      null,
      field({ id: 'key-name', label: 'Name', control: name, hint: 'Required. Shown in lists and the audit log, e.g. the app or customer it is for.' }),
      field({ id: 'key-plan', label: 'Plan', control: plan, hint: 'A plan of the gateway’s config: it supplies the scopes and limits this form leaves empty.' }),
      grants,
    ),
    fieldset(
      'Scopes',
      'What the key may call. Left empty, the plan’s scopes apply; with neither, the key may call nothing.',
      field({ id: 'key-models', label: 'Models', control: models, hint: 'One per line or comma-separated; glob patterns like grok-4-fast-*; * for all.' }),
      el('fieldset', { class: 'checks' }, el('legend', {}, 'Endpoints'), ...endpointBoxes.map((b) => b.node)),
      field({ id: 'key-collections', label: 'Collections', control: collections, hint: 'xAI collection ids a documents search may name, one per line; * for all. Empty: the plan’s, or none.' }),
    ),
    fieldset('Limits', 'Each left empty takes the plan’s limit, or none. Days and months are UTC.', el('div', { class: 'grid' }, ...limitFields)),
    fieldset(
      'Expiry',
      null,
      editing ? radio({ name: 'expiry', value: 'keep', label: `Keep as it is (${current === null ? 'never expires' : `expires ${current}`})`, checked: true }) : null,
      radio({ name: 'expiry', value: 'never', label: 'Never expires', checked: !editing }),
      el('div', { class: 'check-with-field' }, radio({ name: 'expiry', value: 'ttl', label: 'Expires after' }), field({ id: 'expiry-hours', label: 'Hours from now', control: hours })),
      el('div', { class: 'check-with-field' }, radio({ name: 'expiry', value: 'at', label: 'Expires at' }), field({ id: 'expiry-date', label: 'Date and time (your local time)', control: at })),
    ),
    fieldset(
      'Restrictions',
      'Optional. A key with origins works only from those web pages (the browser’s Origin header); one with IPs only from those addresses.',
      field({ id: 'key-origins', label: 'Allowed origins', control: origins, hint: 'e.g. https://app.example.com — one per line.' }),
      field({ id: 'key-ips', label: 'Allowed IPs', control: ips, hint: 'Addresses or CIDRs, e.g. 10.0.0.0/8 — one per line.' }),
    ),
    fieldset(
      'Child keys and metadata',
      null,
      field({
        id: 'key-mint',
        label: 'Longest child-key lifetime (seconds)',
        control: mint,
        hint: 'Empty: this key cannot mint. Set it for a backend that hands each browser session a short-lived key (POST /gateway/keys).',
      }),
      field({ id: 'key-metadata', label: 'Metadata', control: metadata, hint: 'name=value, one per line (up to 32), e.g. team=web.' }),
    ),
    el('div', { class: 'actions' }, submit),
    problem,
  );

  return {
    form,
    submit,
    problem,
    values: () => {
      const kind = (form.querySelector<HTMLInputElement>('input[name="expiry"]:checked')?.value ?? 'never') as ExpiryChoice['kind'];
      const expiry: ExpiryChoice = kind === 'ttl' ? { kind: 'ttl', hours: hours.value } : kind === 'at' ? { kind: 'at', local: at.value } : kind === 'keep' ? { kind: 'keep' } : { kind: 'never' };
      const limits: Partial<Record<LimitName, string>> = {};
      for (const [limit, input] of limitInputs) limits[limit] = input.value;
      return {
        name: name.value,
        plan: plan.value,
        models: models.value,
        endpoints: endpointBoxes.filter((b) => b.box.checked).map((b) => b.box.value),
        collections: collections.value,
        limits,
        expiry,
        origins: origins.value,
        ips: ips.value,
        mintMaxTtlSeconds: mint.value,
        metadata: metadata.value,
      };
    },
  };
}

/** The form's problems, listed where the operator looks next. */
export function showProblems(problem: HTMLElement, title: string, problems: readonly string[]): void {
  replaceChildren(problem, el('div', { class: 'error', role: 'alert' }, el('p', {}, title), el('ul', {}, ...problems.map((p) => el('li', {}, p)))));
}
