/**
 * The console's shell: sign-in (an API key in development, an OIDC access token otherwise),
 * the navigation and a hash router (#/organization, #/members, #/access, #/audit).
 */
import { apiFor, ApiError, call, clearSession, loadSession, saveSession, type Api, type Session } from './api.js';
import { append, clear, errorBox, field, h } from './dom.js';
import { accessPage } from './pages/access.js';
import { auditPage } from './pages/audit.js';
import { membersPage } from './pages/members.js';
import { organizationPage } from './pages/organization.js';

type PageRender = (api: Api, main: HTMLElement) => Promise<void>;

const PAGES: ReadonlyArray<{ route: string; title: string; render: PageRender }> = [
  { route: 'organization', title: 'Organization', render: organizationPage },
  { route: 'members', title: 'Members', render: membersPage },
  { route: 'access', title: 'Access explorer', render: accessPage },
  { route: 'audit', title: 'Audit', render: auditPage },
];

const ORG_RE = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;

function root(): HTMLElement {
  const element = document.getElementById('app');
  if (element === null) throw new Error('#app is missing');
  return element;
}

function signInForm(problem?: unknown): void {
  const app = root();
  clear(app);
  document.title = 'Sign in · Warden';
  const credential = h('input', { type: 'password', name: 'credential', autocomplete: 'off', required: true });
  const org = h('input', { type: 'text', name: 'org', autocomplete: 'organization', pattern: ORG_RE.source });
  const form = h(
    'form',
    { class: 'signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Warden console'),
    h('p', {}, 'Sign in with an API key (development) or an access token from your identity provider. Everything you see and do is checked by Warden with this credential.'),
    field('API key or access token', credential),
    field('Organization', org, 'Needed with an access token; an API key names its own organization.'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  );
  if (problem !== undefined) form.append(errorBox(problem));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const secret = credential.value.trim();
    const orgId = org.value.trim();
    call<{ subject?: string; org?: string }>(secret, 'DirectoryService', 'WhoAmI', {})
      .then((me) => {
        const session: Session = { credential: secret, subject: me.subject ?? '', org: me.org !== undefined && me.org !== '' ? me.org : orgId };
        if (session.org === '' || !ORG_RE.test(session.org)) throw new ApiError(400, 'invalid_argument', 'Organization: enter the organization to open (an access token names none).');
        saveSession(session);
        if (location.hash === '') location.hash = '#/organization';
        render();
      })
      .catch((error: unknown) => signInForm(error));
  });
  app.append(h('main', { id: 'main' }, form));
  credential.focus();
}

function shell(api: Api, route: string): HTMLElement {
  const app = root();
  clear(app);
  const main = h('main', { id: 'main', tabindex: -1 });
  const nav = h(
    'nav',
    { 'aria-label': 'Console' },
    h('ul', {}, ...PAGES.map((p) => h('li', {}, h('a', { href: `#/${p.route}`, 'aria-current': p.route === route ? 'page' : undefined }, p.title)))),
  );
  const signOut = h('button', { type: 'button', class: 'ghost' }, 'Sign out');
  signOut.addEventListener('click', () => {
    clearSession();
    location.hash = '';
    signInForm();
  });
  append(app, [
    h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
    h('header', { class: 'top' }, h('span', { class: 'brand' }, 'Warden'), nav, h('span', { class: 'who' }, h('span', { 'data-testid': 'who' }, api.session.subject), ` · org:${api.session.org}`), signOut),
    main,
  ]);
  return main;
}

/** Which render is the newest: a slower render of a page the user already left must not mark the page ready. */
let renders = 0;

function render(): void {
  const generation = ++renders;
  const session = loadSession();
  if (session === undefined) return signInForm();
  const api = apiFor(session);
  const route = location.hash.replace(/^#\/?/, '').split('?')[0] || 'organization';
  const page = PAGES.find((p) => p.route === route) ?? PAGES[0]!;
  const main = shell(api, page.route);
  document.title = `${page.title} · Warden`;
  main.setAttribute('aria-busy', 'true');
  page
    .render(api, main)
    .catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 401) {
        clearSession();
        signInForm(error);
        return;
      }
      main.append(errorBox(error));
    })
    .finally(() => {
      main.removeAttribute('aria-busy');
      if (generation === renders) document.body.dataset.ready = page.route;
    });
}

window.addEventListener('hashchange', () => {
  delete document.body.dataset.ready;
  render();
  document.getElementById('main')?.focus();
});
render();
