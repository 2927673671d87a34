import type { AdminApi } from './api.js';
import { el, replaceChildren } from './dom.js';
import { auditView } from './view-audit.js';
import { createView } from './view-create.js';
import { keyView, requestView } from './view-key.js';
import { alertsView } from './view-alerts.js';
import { editView } from './view-edit.js';
import { overviewView } from './view-overview.js';
import { keysView } from './view-keys.js';
import { renderSignIn } from './view-sign-in.js';
import type { View, ViewContext } from './view.js';

/**
 * The dashboard shell: sign-in, navigation and hash routes (#/ the overview, #/keys, #/keys/new, #/keys/<id>,
 * #/keys/<id>/edit, #/keys/<id>/requests/<request id>, #/alerts, #/audit). The signed-in API client — and with it the admin token — is this module's variable only:
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
  nav: 'overview' | 'keys' | 'create' | 'alerts' | 'audit';
}

function routeOf(hash: string): Route {
  const path = hash.replace(/^#/, '');
  if (path === '/keys/new') return { view: createView, nav: 'create' };
  if (path === '/audit') return { view: auditView, nav: 'audit' };
  if (path === '/alerts') return { view: alertsView, nav: 'alerts' };
  if (path === '/keys') return { view: keysView, nav: 'keys' };
  const edit = /^\/keys\/([^/]+)\/edit$/.exec(path);
  if (edit?.[1] !== undefined) return { view: editView(decodeURIComponent(edit[1])), nav: 'keys' };
  const request = /^\/keys\/([^/]+)\/requests\/([^/]+)$/.exec(path);
  if (request?.[1] !== undefined && request[2] !== undefined) return { view: requestView(decodeURIComponent(request[1]), decodeURIComponent(request[2])), nav: 'keys' };
  const key = /^\/keys\/([^/]+)$/.exec(path);
  if (key?.[1] !== undefined) return { view: keyView(decodeURIComponent(key[1])), nav: 'keys' };
  return { view: overviewView, nav: 'overview' };
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
