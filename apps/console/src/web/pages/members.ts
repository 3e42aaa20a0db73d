/**
 * Members: the team (every binding at the organization and below, a page at a time) with
 * "Manage access" per member (EnvManager's modal: per environment no access, read only, read &
 * write or a named role, each change previewed), the groups, the role × action matrix and the
 * API keys. Write controls appear only where Warden says the user may use them.
 */
import type { Api } from '../api.js';
import { h, shortPath, table } from '../dom.js';
import { PAGE_SIZE, pager } from '../pager.js';
import { manageAccess, type BindingInfo } from './manage-access.js';
import { apiKeysSection, groupsSection, rolesSection } from './members-more.js';

function describe(binding: BindingInfo['binding']): string {
  const grant = binding?.role ?? (binding?.actions ?? []).join(', ');
  return binding?.effect === 'EFFECT_DENY' ? `deny ${grant}` : grant;
}

function notes(info: BindingInfo): string {
  const parts: string[] = [];
  if (info.binding?.expiresAt !== undefined) parts.push(`${new Date(info.binding.expiresAt).getTime() < Date.now() ? 'expired' : 'expires'} ${info.binding.expiresAt}`);
  if (info.binding?.condition !== undefined) parts.push(`if ${info.binding.condition}`);
  if (info.reason !== undefined) parts.push(info.reason);
  return parts.join(' · ');
}

async function teamSection(api: Api, main: HTMLElement, canManage: boolean): Promise<void> {
  const org = `org:${api.session.org}`;
  const heading = h('h2', { id: 'h-team' }, 'Team');
  const team = pager<BindingInfo>(
    'Team',
    async (token) => {
      const page = await api.call<{ bindings?: BindingInfo[]; nextPageToken?: string }>('AdminService', 'ListBindings', { scope: org, page: { token, limit: PAGE_SIZE } });
      return { items: page.bindings ?? [], next: page.nextPageToken ?? '' };
    },
    (items) => {
      if (items.length === 0) return h('p', {}, 'No bindings.');
      const seen = new Set<string>();
      return table(
        'Team: who holds what, where',
        ['Member', 'Access', 'Where', 'Notes', ''],
        items.map((info) => {
          const subject = info.binding?.subject ?? '';
          const first = !seen.has(subject);
          seen.add(subject);
          const button =
            canManage && first && !subject.startsWith('service:')
              ? h('button', { type: 'button', 'aria-label': `Manage access of ${subject}`, onclick: () => manageAccess(api, subject, () => team.reload()) }, 'Manage access')
              : null;
          return [subject, describe(info.binding), h('code', {}, shortPath(info.binding?.scope ?? '')), notes(info), button];
        }),
      );
    },
  );
  main.append(h('section', { 'aria-labelledby': heading.id }, heading, team.element));
  await team.reload();
}

export async function membersPage(api: Api, main: HTMLElement): Promise<void> {
  const org = `org:${api.session.org}`;
  main.append(h('h1', {}, 'Members'));
  const [manageRoles = false, manageGroups = false, manageKeys = false] = await api.can([
    { action: 'users:manage_roles', resource: org },
    { action: 'groups:manage', resource: org },
    { action: 'keys:manage', resource: org },
  ]);
  await teamSection(api, main, manageRoles);
  await groupsSection(api, main, manageGroups);
  await rolesSection(api, main);
  await apiKeysSection(api, main, manageKeys);
}
