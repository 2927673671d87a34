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
