/** The Members page's other sections: groups, the role × action matrix, API keys. */
import type { Api } from '../api.js';
import { errorBox, field, h, modal, table } from '../dom.js';
import { PAGE_SIZE, pager } from '../pager.js';
import { reviewFlow, type PreviewResponse } from '../preview.js';

interface GroupMember {
  group?: string;
  member?: string;
}

function changeDialog(api: Api, title: string, change: Record<string, unknown>, method: string, request: Record<string, unknown>, done: () => Promise<void>): void {
  const { body, close } = modal(title, done);
  const flow = reviewFlow({
    preview: () => api.call<PreviewResponse>('AdminService', 'PreviewChange', change),
    save: async (reason) => {
      await api.call('AdminService', method, { ...request, reason });
      close();
    },
  });
  body.append(flow.element);
}

export async function groupsSection(api: Api, main: HTMLElement, canManage: boolean): Promise<void> {
  const org = api.session.org;
  const heading = h('h2', { id: 'h-groups' }, 'Groups');
  const section = h('section', { 'aria-labelledby': heading.id }, heading);
  main.append(section);
  const groups = pager<GroupMember>(
    'Groups',
    async (token) => {
      const page = await api.call<{ members?: GroupMember[]; nextPageToken?: string }>('DirectoryService', 'ListGroupMembers', { org, page: { token, limit: PAGE_SIZE } });
      return { items: page.members ?? [], next: page.nextPageToken ?? '' };
    },
    (items) =>
      items.length === 0
        ? h('p', {}, 'No group members.')
        : table(
            'Group members',
            ['Group', 'Member', ''],
            items.map((m) => [
              m.group ?? '',
              m.member ?? '',
              canManage
                ? h('button', {
                    type: 'button',
                    'aria-label': `Remove ${m.member ?? ''} from ${m.group ?? ''}`,
                    onclick: () => {
                      const input = { org, group: m.group ?? '', member: m.member ?? '' };
                      changeDialog(api, `Remove ${input.member} from ${input.group}`, { removeMember: input }, 'RemoveGroupMember', input, () => groups.reload());
                    },
                  }, 'Remove')
                : null,
            ]),
          ),
  );
  section.append(groups.element);
  if (canManage) {
    const group = h('input', { type: 'text', name: 'group', placeholder: 'group:release-managers', required: true });
    const member = h('input', { type: 'text', name: 'member', placeholder: 'user:ann@acme.com', required: true });
    const form = h('form', { class: 'inline' }, field('Group', group), field('Member', member), h('button', { type: 'submit' }, 'Add member…'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const input = { org, group: group.value.trim(), member: member.value.trim() };
      changeDialog(api, `Add ${input.member} to ${input.group}`, { addMember: input }, 'AddGroupMember', input, () => groups.reload());
    });
    section.append(h('h3', {}, 'Add a member to a group'), form);
  }
  await groups.reload();
}

export async function rolesSection(api: Api, main: HTMLElement): Promise<void> {
  const heading = h('h2', { id: 'h-roles' }, 'Roles');
  const section = h('section', { 'aria-labelledby': heading.id }, heading);
  main.append(section);
  try {
    const result = await api.call<{ roles?: Array<{ name?: string; description?: string; granted?: string[]; system?: boolean }>; actions?: string[] }>('DirectoryService', 'ListRoles', { org: api.session.org });
    // Warden expands each role's patterns over the organization's catalogue: no pattern logic here.
    const roles = result.roles ?? [];
    const matrix = h(
      'table',
      { class: 'matrix' },
      h('caption', {}, 'Role × action: ✓ where the role grants the action'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Action'), ...roles.map((r) => h('th', { scope: 'col', title: r.description ?? '' }, r.name ?? '', r.system === true ? '' : ' (custom)')))),
      h(
        'tbody',
        {},
        ...(result.actions ?? []).map((action) =>
          h('tr', {}, h('th', { scope: 'row' }, action), ...roles.map((r) => ((r.granted ?? []).includes(action) ? h('td', { class: 'yes' }, h('span', { 'aria-hidden': 'true' }, '✓'), h('span', { class: 'sr' }, 'granted')) : h('td', {})))),
        ),
      ),
    );
    section.append(h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Role × action matrix' }, matrix));
  } catch (error) {
    section.append(errorBox(error));
  }
}

interface KeyInfo {
  keyId?: string;
  subject?: string;
  description?: string;
  createdBy?: string;
  createdAt?: string;
  expiresAt?: string;
  revokedAt?: string;
}

export async function apiKeysSection(api: Api, main: HTMLElement, canManage: boolean): Promise<void> {
  const org = api.session.org;
  const heading = h('h2', { id: 'h-keys' }, 'API keys');
  const section = h('section', { 'aria-labelledby': heading.id }, heading);
  main.append(section);
  const keys = pager<KeyInfo>(
    'API keys',
    async (token) => {
      const page = await api.call<{ keys?: KeyInfo[]; nextPageToken?: string }>('DirectoryService', 'ListApiKeys', { org, page: { token, limit: PAGE_SIZE } });
      return { items: page.keys ?? [], next: page.nextPageToken ?? '' };
    },
    (items) =>
      items.length === 0
        ? h('p', {}, 'No API keys.')
        : table(
            'API keys (secrets are never shown again)',
            ['Key', 'Acts as', 'Description', 'Created by', 'Created', 'Status', ''],
            items.map((k) => [
              h('code', {}, k.keyId ?? ''),
              k.subject ?? '',
              k.description ?? '',
              k.createdBy ?? '',
              k.createdAt ?? '',
              k.revokedAt !== undefined ? `revoked ${k.revokedAt}` : k.expiresAt !== undefined ? `expires ${k.expiresAt}` : 'active',
              canManage && k.revokedAt === undefined
                ? h('button', {
                    type: 'button',
                    'aria-label': `Revoke key ${k.keyId ?? ''}`,
                    onclick: () => {
                      const { body, close } = modal(`Revoke key ${k.keyId ?? ''}`, () => keys.reload());
                      const reason = h('input', { type: 'text', name: 'reason' });
                      const revoke = h('button', { type: 'button', class: 'danger' }, 'Revoke');
                      revoke.addEventListener('click', () => {
                        api.call('AdminService', 'RevokeApiKey', { keyId: k.keyId, reason: reason.value.trim() }).then(close, (error: unknown) => body.append(errorBox(error)));
                      });
                      body.append(h('p', {}, `Calls with this key (acting as ${k.subject ?? ''}) will be refused.`), field('Reason', reason), revoke);
                    },
                  }, 'Revoke')
                : null,
            ]),
          ),
  );
  section.append(keys.element);
  if (canManage) {
    const subject = h('input', { type: 'text', name: 'subject', placeholder: 'service:gateway', required: true });
    const description = h('input', { type: 'text', name: 'description' });
    const form = h('form', { class: 'inline' }, field('Acts as', subject), field('Description', description), h('button', { type: 'submit' }, 'Create key…'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const input = { org, subject: subject.value.trim(), description: description.value.trim() };
      const { body } = modal(`New API key for ${input.subject}`, () => keys.reload());
      const flow = reviewFlow({
        saveLabel: 'Create key',
        preview: () => api.call<PreviewResponse>('AdminService', 'PreviewChange', { createApiKey: input }),
        save: async (reason) => {
          const created = await api.call<{ keyId?: string; key?: string }>('AdminService', 'CreateApiKey', { ...input, reason });
          const shown = h('input', { type: 'text', readonly: true, value: created.key ?? '', name: 'new-key' });
          body.append(h('p', { class: 'ok', role: 'status' }, `Key ${created.keyId ?? ''} created. Copy it now: it is shown once.`), field('The new key', shown));
          shown.select();
        },
      });
      body.append(flow.element);
    });
    section.append(h('h3', {}, 'Create an API key'), form);
  }
  await keys.reload();
}
