import type { AdminApi } from './api.js';
import { el, replaceChildren } from './dom.js';
import { auditView } from './view-audit.js';
import { createView } from './view-create.js';
import { keyView } from './view-key.js';
import { keysView } from './view-keys.js';
import { renderSignIn } from './view-sign-in.js';
import type { View, ViewContext } from './view.js';

/**
 * The dashboard shell (issue 8): sign-in, navigation and hash routes (#/keys, #/keys/new, #/keys/<id>,
 * #/audit). The signed-in API client — and with it the admin token — is this module's variable only:
 * reloading the page signs out.
 */
let api: AdminApi | null = null;
let renderCount = 0;

function required<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`dashboard: #${id} missing from index.html`);
  return node as T;
}

const main = required<HTMLElement>('main');
const nav = required<HTMLElement>('nav');
const status = required<HTMLElement>('status');
const signOut = required<HTMLButtonElement>('sign-out');

function announce(message: string): void {
  // Emptied first so the same message twice is read twice.
  status.textContent = '';
  window.setTimeout(() => {
    status.textContent = message;
  }, 50);
}

interface Route {
  view: View;
  nav: 'keys' | 'create' | 'audit';
}

function routeOf(hash: string): Route {
  const path = hash.replace(/^#/, '');
  if (path === '/keys/new') return { view: createView, nav: 'create' };
  if (path === '/audit') return { view: auditView, nav: 'audit' };
  const key = /^\/keys\/([^/]+)$/.exec(path);
  if (key?.[1] !== undefined) return { view: keyView(decodeURIComponent(key[1])), nav: 'keys' };
  return { view: keysView, nav: 'keys' };
}

function render(options: { focus: boolean }): void {
  renderCount += 1;
  const current = renderCount;
  const container = el('div', { class: 'view' });
  replaceChildren(main, container);
  const signedIn = api;
  if (signedIn === null) {
    nav.hidden = true;
    renderSignIn(container, (newApi) => {
      api = newApi;
      announce('Signed in.');
      render({ focus: true });
    });
    return;
  }
  nav.hidden = false;
  const route = routeOf(window.location.hash);
  for (const link of nav.querySelectorAll<HTMLAnchorElement>('a[data-nav]')) {
    if (link.dataset.nav === route.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const ctx: ViewContext = {
    api: signedIn,
    announce,
    navigate: (hash) => {
      window.location.hash = hash;
    },
    nowMs: () => Date.now(),
  };
  void route.view(ctx, container).then(() => {
    if (options.focus && current === renderCount) container.querySelector<HTMLElement>('h1')?.focus();
  });
}

signOut.addEventListener('click', () => {
  api = null;
  announce('Signed out.');
  render({ focus: true });
});
window.addEventListener('hashchange', () => {
  // An announcement belongs to the page it was made on.
  status.textContent = '';
  render({ focus: true });
});
render({ focus: false });
