import type { AdminApi } from './api.js';
import { el } from './dom.js';

/** What every page of the dashboard gets from the shell (main.ts). */
export interface ViewContext {
  api: AdminApi;
  /** Says a result in the page's polite live region (screen readers read it; it is also shown). */
  announce(message: string): void;
  navigate(hash: string): void;
  nowMs(): number;
}

/** Fills `root` (a fresh, already attached container) with the page. */
export type View = (ctx: ViewContext, root: HTMLElement) => Promise<void>;

export function errorMessage(message: string): HTMLElement {
  return el('p', { class: 'error', role: 'alert' }, message);
}

/** A page heading that takes focus after navigation, so keyboard and screen-reader users land on it. */
export function pageHeading(text: string): HTMLHeadingElement {
  return el('h1', { tabindex: -1, class: 'page-heading' }, text);
}

export function keyLink(id: string, text: string = id): HTMLAnchorElement {
  return el('a', { href: `#/keys/${encodeURIComponent(id)}` }, text);
}

export function stateBadge(state: string): HTMLElement {
  return el('span', { class: `badge state-${state}`, 'data-state': state }, state);
}

/**
 * A data table in its scrolling wrapper: a caption (shown, or for screen readers only), column headers, and the rows —
 * or one row saying `empty` when there are none.
 */
export function dataTable(input: { caption: string; captionHidden?: boolean; head: readonly string[]; rows: readonly HTMLElement[]; testId: string; empty: string }): HTMLElement {
  const { head, rows } = input;
  return el(
    'div',
    { class: 'table-wrap' },
    el(
      'table',
      { class: 'data', 'data-testid': input.testId },
      el('caption', input.captionHidden === true ? { class: 'visually-hidden' } : {}, input.caption),
      el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: head.length }, input.empty))])),
    ),
  );
}
