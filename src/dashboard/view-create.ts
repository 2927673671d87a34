import { describeError } from './api.js';
import { el, replaceChildren } from './dom.js';
import { buildCreateBody } from './key-form.js';
import { keyForm, showProblems } from './key-form-view.js';
import { secretBox } from './secret-box.js';
import type { Plan } from './types.js';
import { errorMessage, keyLink, pageHeading, type View } from './view.js';

/** The create form (docs/api.md `POST /admin/keys`): every field of a key, a plan from the config, then the secret shown once. */
export const createView: View = async (ctx, root) => {
  let plans: Plan[] = [];
  let plansProblem: string | null = null;
  try {
    plans = (await ctx.api.plans()).data;
  } catch (err) {
    plansProblem = describeError(err);
  }
  const heading = pageHeading('Create a key');
  heading.id = 'create-heading';
  const { form, submit, problem, values } = keyForm({ plans, initial: null, submitLabel: 'Create key', headingId: 'create-heading' });
  const panel = el('div', {}, form);
  replaceChildren(root, heading, plansProblem === null ? null : errorMessage(plansProblem), panel);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const built = buildCreateBody(values());
    if (!built.ok) {
      showProblems(problem, 'Please correct:', built.problems);
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
        // The server names every problem, separated by "; " (docs/api.md).
        showProblems(problem, 'The gateway refused the key:', describeError(err).replace(/^Invalid key: /, '').split('; '));
        submit.disabled = false;
      });
  });
};
