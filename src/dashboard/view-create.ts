import { describeError } from './api.js';
import { ENDPOINT_NAMES, LIMIT_LABELS, LIMIT_NAMES, type LimitName } from './constants.js';
import { el, replaceChildren, type Child } from './dom.js';
import { buildCreateBody, type ExpiryChoice } from './key-form.js';
import { secretBox } from './secret-box.js';
import { errorMessage, keyLink, pageHeading, type View } from './view.js';

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

/** The create form (issue 8, SPEC §6 `POST /admin/keys`): every field of a key, then the secret shown once. */
export const createView: View = async (ctx, root) => {
  const name = el('input', { id: 'key-name', name: 'name', required: true, maxlength: 200, autocomplete: 'off' });
  const plan = el('input', { id: 'key-plan', name: 'plan', list: 'known-plans', autocomplete: 'off' });
  const plans = el('datalist', { id: 'known-plans' });
  const models = el('textarea', { id: 'key-models', name: 'models', rows: 2, spellcheck: 'false' });
  const endpointBoxes = ['*', ...ENDPOINT_NAMES].map((endpoint) => {
    const id = `endpoint-${endpoint === '*' ? 'all' : endpoint.replace('.', '-')}`;
    const box = el('input', { type: 'checkbox', id, name: 'endpoints', value: endpoint });
    return { box, node: el('div', { class: 'check' }, box, el('label', { for: id }, endpoint === '*' ? 'All endpoints (*)' : el('code', {}, endpoint))) };
  });
  const collections = el('textarea', { id: 'key-collections', name: 'collections', rows: 2, spellcheck: 'false' });
  const limitInputs = new Map<LimitName, HTMLInputElement>();
  const limitFields = LIMIT_NAMES.map((limit) => {
    const input = el('input', { id: `limit-${limit}`, name: limit, type: 'number', min: 0, step: limit.endsWith('Usd') ? 'any' : 1, inputmode: 'decimal' });
    limitInputs.set(limit, input);
    return field({ id: `limit-${limit}`, label: LIMIT_LABELS[limit], control: input });
  });
  const hours = el('input', { id: 'expiry-hours', name: 'expiry-hours', type: 'number', min: 0, step: 'any', value: 720 });
  const at = el('input', { id: 'expiry-date', name: 'expiry-date', type: 'datetime-local' });
  const origins = el('textarea', { id: 'key-origins', name: 'allowedOrigins', rows: 2, spellcheck: 'false' });
  const ips = el('textarea', { id: 'key-ips', name: 'allowedIps', rows: 2, spellcheck: 'false' });
  const mint = el('input', { id: 'key-mint', name: 'mint', type: 'number', min: 1, step: 1 });
  const submit = el('button', { type: 'submit', class: 'button primary' }, 'Create key');
  const problem = el('div', { class: 'form-problem' });

  const form = el(
    'form',
    { class: 'key-form', 'aria-labelledby': 'create-heading' },
    fieldset(
      'Key',
      null,
      field({ id: 'key-name', label: 'Name', control: name, hint: 'Required. Shown in lists and the audit log, e.g. the app or customer it is for.' }),
      field({ id: 'key-plan', label: 'Plan', control: plan, hint: 'A plan of the gateway’s config, which supplies models, endpoints and limits. Empty: no plan.' }),
      plans,
    ),
    fieldset(
      'Scopes',
      'What the key may call. Left empty, the plan’s scopes apply; with neither, the key may call nothing.',
      field({ id: 'key-models', label: 'Models', control: models, hint: 'One per line or comma-separated; glob patterns like grok-4-fast-*; * for all.' }),
      el('fieldset', { class: 'checks' }, el('legend', {}, 'Endpoints'), ...endpointBoxes.map((b) => b.node)),
      field({
        id: 'key-collections',
        label: 'Collections',
        control: collections,
        hint: 'xAI collection ids a documents search may name, one per line; * for all. Empty: the plan’s, or none.',
      }),
    ),
    fieldset('Limits', 'Each left empty takes the plan’s limit, or none. Days and months are UTC.', el('div', { class: 'grid' }, ...limitFields)),
    fieldset(
      'Expiry',
      null,
      radio({ name: 'expiry', value: 'never', label: 'Never expires', checked: true }),
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
      'Child keys',
      null,
      field({
        id: 'key-mint',
        label: 'Longest child-key lifetime (seconds)',
        control: mint,
        hint: 'Empty: this key cannot mint. Set it for a backend that hands each browser session a short-lived key (POST /gateway/keys).',
      }),
    ),
    el('div', { class: 'actions' }, submit),
    problem,
  );

  const heading = pageHeading('Create a key');
  heading.id = 'create-heading';
  const panel = el('div', {}, form);
  replaceChildren(root, heading, panel);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const expiryKind = (form.querySelector<HTMLInputElement>('input[name="expiry"]:checked')?.value ?? 'never') as ExpiryChoice['kind'];
    const expiry: ExpiryChoice = expiryKind === 'ttl' ? { kind: 'ttl', hours: hours.value } : expiryKind === 'at' ? { kind: 'at', local: at.value } : { kind: 'never' };
    const limits: Partial<Record<LimitName, string>> = {};
    for (const [limit, input] of limitInputs) limits[limit] = input.value;
    const built = buildCreateBody({
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
    });
    if (!built.ok) {
      replaceChildren(problem, el('div', { class: 'error', role: 'alert' }, el('p', {}, 'Please correct:'), el('ul', {}, ...built.problems.map((p) => el('li', {}, p)))));
      return;
    }
    submit.disabled = true;
    replaceChildren(problem);
    ctx.api
      .createKey(built.body)
      .then((created) => {
        replaceChildren(
          panel,
          secretBox(ctx, { heading: `Key “${created.name}” created`, secret: created.key }),
          el('p', {}, 'Key id ', el('code', { 'data-testid': 'created-id' }, created.id), '. ', keyLink(created.id, 'Open the key’s page'), ' · ', el('a', { href: '#/keys' }, 'Back to the keys')),
        );
        ctx.announce(`Key ${created.name} created. Copy its secret now: it is shown only this once.`);
      })
      .catch((err: unknown) => {
        const message = describeError(err);
        // The server names every problem, separated by "; " (SPEC §6).
        const parts = message.replace(/^Invalid key: /, '').split('; ');
        replaceChildren(problem, el('div', { class: 'error', role: 'alert' }, el('p', {}, 'The gateway refused the key:'), el('ul', {}, ...parts.map((p) => el('li', {}, p)))));
        submit.disabled = false;
      });
  });

  // Plans seen on existing keys, offered as suggestions (the admin API has no plan list; any configured plan works).
  try {
    const page = await ctx.api.listKeys({ limit: 1000 });
    const seen = [...new Set(page.data.map((k) => k.plan).filter((p): p is string => p !== null))].sort();
    replaceChildren(plans, ...seen.map((p) => el('option', { value: p })));
  } catch (err) {
    replaceChildren(problem, errorMessage(describeError(err)));
  }
};
