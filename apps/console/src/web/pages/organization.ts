/**
 * Organization: the projects and environments the user may read, with their settings
 * (protected, sensitive actions, named roles, require approval, approval actions, show values).
 * "Edit settings" appears only where Warden says the user may manage the resource, and every
 * edit is previewed (who gains or loses what) before it is saved with PutResource.
 */
import type { Api, Json } from '../api.js';
import { checkbox, field, h, modal, shortPath, splitList, table } from '../dom.js';
import { PAGE_SIZE, pager } from '../pager.js';
import { reviewFlow, type PreviewResponse } from '../preview.js';

export interface Settings {
  protected?: boolean;
  sensitiveActions?: string[];
  protectedRoles?: string[];
  requireApproval?: boolean;
  approvalActions?: string[];
  showValuesToReaders?: boolean;
  /** Distinct approvals a change request needs (docs/approvals.md); kept as it is by this form. */
  requiredApprovals?: number;
  attributes?: Json;
}

interface ResourceInfo {
  path: string;
  settings?: Settings;
}

const MANAGE: Readonly<Record<string, string>> = { project: 'projects:manage', env: 'environments:manage' };
const yesNo = (value: boolean | undefined) => (value === true ? 'yes' : 'no');
const list = (value: string[] | undefined) => (value === undefined || value.length === 0 ? 'default' : value.join(', '));

function editSettings(api: Api, resource: ResourceInfo, done: () => Promise<void>): void {
  const current = resource.settings ?? {};
  let saved = false;
  const { body, close } = modal(`Settings of ${shortPath(resource.path)}`, () => (saved ? done() : undefined));
  const isProtected = checkbox('Protected (sensitive actions only through named roles)', current.protected === true, 'protected');
  const sensitive = h('input', { type: 'text', name: 'sensitive_actions', value: (current.sensitiveActions ?? []).join(', ') });
  const roles = h('input', { type: 'text', name: 'protected_roles', value: (current.protectedRoles ?? []).join(', ') });
  const approval = checkbox('Require approval', current.requireApproval === true, 'require_approval');
  const approvalActions = h('input', { type: 'text', name: 'approval_actions', value: (current.approvalActions ?? []).join(', ') });
  const showValues = checkbox('Show values to read-only users', current.showValuesToReaders === true, 'show_values_to_readers');

  const settings = (): Settings => ({
    protected: isProtected.input.checked,
    sensitiveActions: splitList(sensitive.value),
    protectedRoles: splitList(roles.value),
    requireApproval: approval.input.checked,
    approvalActions: splitList(approvalActions.value),
    showValuesToReaders: showValues.input.checked,
    ...(current.requiredApprovals !== undefined ? { requiredApprovals: current.requiredApprovals } : {}),
    ...(current.attributes !== undefined ? { attributes: current.attributes } : {}),
  });
  const flow = reviewFlow({
    preview: () => api.call<PreviewResponse>('AdminService', 'PreviewChange', { putResource: { path: resource.path, settings: settings() } }),
    save: async (reason) => {
      await api.call('AdminService', 'PutResource', { path: resource.path, settings: settings(), reason });
      saved = true;
      close();
    },
  });
  const form = h(
    'form',
    { class: 'settings', onsubmit: (event: Event) => event.preventDefault() },
    isProtected.block,
    field('Sensitive actions', sensitive, 'Comma-separated; empty: the defaults.'),
    field('Named roles for sensitive actions', roles, 'Comma-separated roles, e.g. owner, admin, release_manager.'),
    approval.block,
    field('Actions that need approval', approvalActions, 'Comma-separated; empty: the defaults.'),
    showValues.block,
  );
  form.addEventListener('input', () => flow.invalidate());
  form.addEventListener('change', () => flow.invalidate());
  body.append(form, flow.element);
}

async function section(api: Api, main: HTMLElement, type: 'project' | 'env', title: string): Promise<void> {
  const heading = h('h2', {}, title);
  const list$ = pager<ResourceInfo & { canEdit: boolean }>(
    title,
    async (token) => {
      const page = await api.call<{ resources?: ResourceInfo[]; nextPageToken?: string }>('DirectoryService', 'ListResources', {
        scope: `org:${api.session.org}`,
        resourceType: type,
        page: { token, limit: PAGE_SIZE },
      });
      const resources = page.resources ?? [];
      const may = await api.can(resources.map((r) => ({ action: MANAGE[type]!, resource: r.path })));
      return { items: resources.map((r, i) => ({ ...r, canEdit: may[i] === true })), next: page.nextPageToken ?? '' };
    },
    (items) => {
      if (items.length === 0) return h('p', {}, `No ${title.toLowerCase()} you may read.`);
      return table(
        title,
        ['Path', 'Protected', 'Sensitive actions', 'Named roles', 'Require approval', 'Approval actions', 'Show values', ''],
        items.map((r) => {
          const s = r.settings ?? {};
          const edit = r.canEdit
            ? h('button', { type: 'button', 'aria-label': `Edit settings of ${shortPath(r.path)}`, onclick: () => editSettings(api, r, () => list$.reload()) }, 'Edit settings')
            : null;
          return [h('code', {}, shortPath(r.path)), yesNo(s.protected), list(s.sensitiveActions), list(s.protectedRoles), yesNo(s.requireApproval), list(s.approvalActions), yesNo(s.showValuesToReaders), edit];
        }),
      );
    },
  );
  main.append(h('section', { 'aria-labelledby': heading.id || (heading.id = `h-${type}`) }, heading, list$.element));
  await list$.reload();
}

export async function organizationPage(api: Api, main: HTMLElement): Promise<void> {
  main.append(h('h1', {}, `Organization ${api.session.org}`));
  await section(api, main, 'project', 'Projects');
  await section(api, main, 'env', 'Environments');
}
