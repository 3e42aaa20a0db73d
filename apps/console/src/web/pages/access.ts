/**
 * Access explorer: who can do X here (LookupSubjects), what can S do here (LookupActions),
 * and why (Check: the decision, the reason and the binding or rule behind it). Asking about
 * someone else needs authz:lookup / authz:check there; Warden says so when it refuses.
 */
import type { Api } from '../api.js';
import { append, clear, errorBox, field, h } from '../dom.js';
import { PAGE_SIZE, pager } from '../pager.js';

function form(title: string, fields: HTMLElement[], submit: string, run: (out: HTMLElement) => Promise<void>): HTMLElement {
  const out = h('div', { class: 'answer', 'aria-live': 'polite' });
  const heading = h('h2', {}, title);
  heading.id = `h-${title.replace(/\W+/g, '-').toLowerCase()}`;
  const element = h('form', { class: 'inline' }, ...fields, h('button', { type: 'submit', class: 'primary' }, submit));
  element.addEventListener('submit', (event) => {
    event.preventDefault();
    clear(out);
    run(out).catch((error: unknown) => out.append(errorBox(error)));
  });
  return h('section', { 'aria-labelledby': heading.id }, heading, element, out);
}

const input = (name: string, value: string, placeholder: string) => h('input', { type: 'text', name, value, placeholder, required: true });

export async function accessPage(api: Api, main: HTMLElement): Promise<void> {
  const org = `org:${api.session.org}`;
  main.append(h('h1', {}, 'Access explorer'));

  const whoAction = input('action', 'flags:enable', 'flags:enable');
  const whoResource = input('resource', org, `${org}/project:…/env:…`);
  main.append(
    form('Who can do this here?', [field('Action', whoAction), field('Resource', whoResource)], 'Find who', async (out) => {
      const list = pager<string>(
        'Subjects allowed',
        async (token) => {
          const page = await api.call<{ subjects?: string[]; nextPageToken?: string }>('AuthzService', 'LookupSubjects', { action: whoAction.value.trim(), resource: whoResource.value.trim(), page: { token, limit: PAGE_SIZE } });
          return { items: page.subjects ?? [], next: page.nextPageToken ?? '' };
        },
        (items) => (items.length === 0 ? h('p', {}, 'Nobody on this page.') : h('ul', { 'data-testid': 'who-result' }, ...items.map((s) => h('li', {}, s)))),
      );
      out.append(list.element);
      await list.reload();
    }),
  );

  const whatSubject = input('subject', api.session.subject, 'user:sarah@acme.com');
  const whatResource = input('resource', org, `${org}/project:…/env:…`);
  main.append(
    form('What can this subject do here?', [field('Subject', whatSubject), field('Resource', whatResource)], 'List actions', async (out) => {
      const list = pager<string>(
        'Actions allowed',
        async (token) => {
          const page = await api.call<{ actions?: string[]; nextPageToken?: string }>('AuthzService', 'LookupActions', { subject: whatSubject.value.trim(), resource: whatResource.value.trim(), page: { token, limit: 200 } });
          return { items: page.actions ?? [], next: page.nextPageToken ?? '' };
        },
        (items) => (items.length === 0 ? h('p', {}, 'No action allowed here.') : h('ul', { class: 'chips', 'data-testid': 'what-result' }, ...items.map((a) => h('li', {}, a)))),
      );
      out.append(list.element);
      await list.reload();
    }),
  );

  const whySubject = input('subject', api.session.subject, 'user:sarah@acme.com');
  const whyAction = input('action', 'flags:enable', 'flags:enable');
  const whyResource = input('resource', org, `${org}/project:…/env:…`);
  main.append(
    form('Why? (explain a decision)', [field('Subject', whySubject), field('Action', whyAction), field('Resource', whyResource)], 'Explain', async (out) => {
      const result = await api.call<{ decision?: string; revision?: number; reason?: { code?: string; message?: string; binding?: { subject?: string; role?: string; actions?: string[]; scope?: string; effect?: string }; ruleResource?: string; requiredRoles?: string[] } }>(
        'AuthzService',
        'Check',
        { subject: whySubject.value.trim(), action: whyAction.value.trim(), resource: whyResource.value.trim(), consistency: { fullyConsistent: true } },
      );
      const decision = (result.decision ?? 'DECISION_DENY').replace('DECISION_', '');
      const reason = result.reason ?? {};
      append(out, [
        h('p', { class: `decision ${decision.toLowerCase()}`, 'data-testid': 'decision' }, h('strong', {}, decision), ` (${(reason.code ?? '').replace('REASON_CODE_', '').toLowerCase()})`),
        h('p', {}, reason.message ?? ''),
        reason.binding !== undefined ? h('p', {}, 'Binding: ', h('code', {}, `${reason.binding.subject ?? ''} ${reason.binding.effect === 'EFFECT_DENY' ? 'deny ' : ''}${reason.binding.role ?? (reason.binding.actions ?? []).join(',')} on ${reason.binding.scope ?? ''}`)) : null,
        reason.ruleResource !== undefined ? h('p', {}, 'Rule of ', h('code', {}, reason.ruleResource)) : null,
        (reason.requiredRoles ?? []).length > 0 ? h('p', {}, `Roles that may: ${(reason.requiredRoles ?? []).join(', ')}`) : null,
      ]);
    }),
  );
  await Promise.resolve();
}
