import { createAdminApi, describeError, type AdminApi } from './api.js';
import { el, replaceChildren } from './dom.js';
import { errorMessage, pageHeading } from './view.js';

/**
 * Sign-in: the admin token is checked with one admin call and then kept in memory only (api.ts). The
 * field is cleared at once; nothing is written to storage or cookies.
 */
export function renderSignIn(root: HTMLElement, onSignedIn: (api: AdminApi) => void): void {
  const input = el('input', {
    id: 'admin-token',
    name: 'admin-token',
    type: 'password',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'admin-token-hint',
  });
  const submit = el('button', { type: 'submit', class: 'button primary' }, 'Sign in');
  const problem = el('div', { class: 'form-problem' });
  const form = el(
    'form',
    { class: 'sign-in', 'aria-labelledby': 'sign-in-heading' },
    el('label', { for: 'admin-token' }, 'Admin token'),
    input,
    el(
      'p',
      { id: 'admin-token-hint', class: 'hint' },
      'One of the tokens in GATEWAY_ADMIN_TOKEN. It stays in this tab’s memory only: reloading the page or signing out forgets it.',
    ),
    submit,
    problem,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token === '') return;
    submit.disabled = true;
    replaceChildren(problem);
    const api = createAdminApi(token);
    api
      .listKeys({ limit: 1 })
      .then(() => {
        input.value = '';
        onSignedIn(api);
      })
      .catch((err: unknown) => {
        const status = (err as { status?: number }).status;
        replaceChildren(
          problem,
          errorMessage(status === 404 ? 'The admin API is off on this gateway (no GATEWAY_ADMIN_TOKEN set).' : status === 401 ? 'That admin token was not accepted.' : describeError(err)),
        );
        submit.disabled = false;
        input.focus();
      });
  });
  const heading = pageHeading('Sign in');
  heading.id = 'sign-in-heading';
  replaceChildren(root, el('div', { class: 'narrow' }, heading, form));
  input.focus();
}
