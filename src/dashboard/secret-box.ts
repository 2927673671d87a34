import { el, uid } from './dom.js';
import type { ViewContext } from './view.js';

/**
 * A new secret, shown this once (docs/api.md: only its hash is stored) with a copy button. The secret is only
 * in this element: it is not kept anywhere else, so leaving the page drops it.
 */
export function secretBox(ctx: Pick<ViewContext, 'announce'>, input: { heading: string; secret: string; note?: string }): HTMLElement {
  const fieldId = uid('secret');
  const hintId = uid('secret-hint');
  const field = el('input', {
    id: fieldId,
    type: 'text',
    class: 'secret',
    readonly: true,
    value: input.secret,
    spellcheck: 'false',
    autocomplete: 'off',
    'aria-describedby': hintId,
    'data-testid': 'secret',
  });
  const copy = el('button', { type: 'button', class: 'button' }, 'Copy');
  copy.addEventListener('click', () => {
    void (async () => {
      try {
        await navigator.clipboard.writeText(field.value);
        ctx.announce('Secret copied to the clipboard.');
      } catch {
        // No clipboard permission (or an insecure origin): leave the secret selected for a manual copy.
        field.focus();
        field.select();
        ctx.announce('Copying failed: the secret is selected, copy it with Ctrl+C.');
      }
    })();
  });
  field.addEventListener('focus', () => field.select());
  return el(
    'section',
    { class: 'secret-box', 'aria-labelledby': `${fieldId}-heading` },
    el('h2', { id: `${fieldId}-heading` }, input.heading),
    el('p', { id: hintId }, 'Copy this secret now: it is shown only this once. The gateway keeps only its hash and cannot show it again.'),
    el('div', { class: 'secret-row' }, el('label', { for: fieldId, class: 'visually-hidden' }, 'Secret'), field, copy),
    input.note === undefined ? null : el('p', { class: 'muted' }, input.note),
  );
}
