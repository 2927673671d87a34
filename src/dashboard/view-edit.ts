import { describeError } from './api.js';
import { el, replaceChildren } from './dom.js';
import { formatDateTime } from './format.js';
import { buildPatchBody, formValuesOf } from './key-form.js';
import { keyForm, showProblems } from './key-form-view.js';
import type { Plan } from './types.js';
import { errorMessage, keyLink, pageHeading, type View } from './view.js';

/** The edit form (`#/keys/<id>/edit`, docs/api.md `PATCH /admin/keys/:id`): only what changed is sent, and audited. */
export function editView(id: string): View {
  return async (ctx, root) => {
    const back = el('p', { class: 'breadcrumb' }, el('a', { href: '#/keys' }, 'Keys'), ' / ', keyLink(id), ' / edit');
    let key;
    let plans: Plan[];
    try {
      [key, plans] = await Promise.all([ctx.api.getKey(id), ctx.api.plans().then((p) => p.data)]);
    } catch (err) {
      replaceChildren(root, back, pageHeading('Edit key'), errorMessage(describeError(err)));
      return;
    }
    const heading = pageHeading(`Edit “${key.name}”`);
    heading.id = 'edit-heading';
    if (key.source === 'config' || key.revokedAt !== null) {
      replaceChildren(root, back, heading, el('p', {}, key.source === 'config' ? 'This key is declared in the gateway’s YAML config: change it there.' : 'A revoked key cannot be changed.'));
      return;
    }
    const original = key;
    const { form, submit, problem, values } = keyForm({
      plans,
      initial: formValuesOf(original),
      submitLabel: 'Save changes',
      headingId: 'edit-heading',
      currentExpiry: original.expiresAt === null ? null : formatDateTime(original.expiresAt),
    });
    replaceChildren(root, back, heading, form);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const built = buildPatchBody(values(), original);
      if (!built.ok) {
        showProblems(problem, 'Please correct:', built.problems);
        return;
      }
      const changed = Object.keys(built.body);
      if (changed.length === 0) {
        replaceChildren(problem, el('p', { class: 'muted', role: 'status' }, 'Nothing changed.'));
        return;
      }
      submit.disabled = true;
      ctx.api
        .updateKey(original.id, built.body)
        .then(() => {
          ctx.announce(`Saved: ${changed.join(', ')}. The audit log has the change.`);
          ctx.navigate(`#/keys/${encodeURIComponent(original.id)}`);
        })
        .catch((err: unknown) => {
          showProblems(problem, 'The gateway refused the change:', describeError(err).replace(/^Invalid key: /, '').split('; '));
          submit.disabled = false;
        });
    });
  };
}
