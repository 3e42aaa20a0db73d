/**
 * "Manage access" for one member (EnvManager's modal): for every environment the signed-in
 * user may read, the member's access there (no access, read only, read & write, or a named
 * role such as release_manager). One environment is changed at a time; the change is a grant,
 * a revoke or both (replace: grant first, then revoke), each previewed with PreviewChange
 * before Save.
 */
import type { Api } from '../api.js';
import { clear, errorBox, h, modal, shortPath, table } from '../dom.js';
import { PAGE_SIZE, pager } from '../pager.js';
import { reviewFlow, type PreviewResponse } from '../preview.js';

export interface BindingInfo {
  binding?: { id?: string; subject?: string; role?: string; actions?: string[]; scope?: string; effect?: string; expiresAt?: string; condition?: string };
  grantedBy?: string;
  reason?: string;
  createdAt?: string;
}

interface Choice {
  readonly value: string;
  readonly label: string;
}

const BASE_CHOICES: readonly Choice[] = [
  { value: '', label: 'No access' },
  { value: 'env_reader', label: 'Read only' },
  { value: 'env_writer', label: 'Read & write' },
];

async function roleChoices(api: Api): Promise<Choice[]> {
  try {
    const roles = await api.call<{ roles?: Array<{ name?: string; system?: boolean; membership?: boolean }> }>('DirectoryService', 'ListRoles', { org: api.session.org });
    const custom = (roles.roles ?? []).filter((r) => r.system !== true && r.membership !== true && r.name !== undefined).map((r) => ({ value: r.name!, label: r.name! }));
    return [...BASE_CHOICES, ...custom];
  } catch {
    return [...BASE_CHOICES]; // without roles:read, the built-in environment roles only
  }
}

/** Merges the previews of a replace (grant, then revoke) into one report. */
function merged(previews: readonly PreviewResponse[]): PreviewResponse {
  const refused = previews.find((p) => p.allowed !== true);
  return {
    effect: {
      gains: previews.flatMap((p) => p.effect?.gains ?? []),
      losses: previews.flatMap((p) => p.effect?.losses ?? []),
      loosened: previews.flatMap((p) => p.effect?.loosened ?? []),
      truncated: previews.some((p) => p.effect?.truncated === true),
      gainsTotal: previews.reduce((n, p) => n + (p.effect?.gainsTotal ?? 0), 0),
      lossesTotal: previews.reduce((n, p) => n + (p.effect?.lossesTotal ?? 0), 0),
    },
    allowed: refused === undefined,
    ...(refused?.refusal !== undefined ? { refusal: refused.refusal } : {}),
    ...(refused?.brokenInvariant !== undefined ? { brokenInvariant: refused.brokenInvariant } : {}),
  };
}

export function manageAccess(api: Api, subject: string, done: () => Promise<void>): void {
  const { body } = modal(`Manage access: ${subject}`, done);
  const org = `org:${api.session.org}`;
  const review = h('div', { class: 'pending' });
  body.append(h('p', {}, 'Choose the access for one environment, preview who gains or loses what, then save.'));

  void (async () => {
    const [choices, own] = await Promise.all([
      roleChoices(api),
      api.call<{ bindings?: BindingInfo[] }>('AdminService', 'ListBindings', { scope: org, subject, page: { limit: 1000 } }),
    ]);
    const direct = (own.bindings ?? []).filter((b) => b.binding?.effect !== 'EFFECT_DENY' && b.binding?.role !== undefined);
    const selects: HTMLSelectElement[] = [];

    const envs = pager<{ path: string }>(
      'Environments',
      async (token) => {
        const page = await api.call<{ resources?: Array<{ path: string }>; nextPageToken?: string }>('DirectoryService', 'ListResources', { scope: org, resourceType: 'env', page: { token, limit: PAGE_SIZE } });
        return { items: page.resources ?? [], next: page.nextPageToken ?? '' };
      },
      (items) => {
        selects.length = 0;
        return table(
          `Access of ${subject} per environment`,
          ['Environment', 'Access here', 'Inherited'],
          items.map((env) => {
            const here = direct.find((b) => b.binding?.scope === env.path);
            const inherited = direct.filter((b) => b.binding?.scope !== undefined && env.path.startsWith(`${b.binding.scope}/`)).map((b) => `${b.binding?.role ?? ''} from ${shortPath(b.binding?.scope ?? '')}`);
            const currentRole = here?.binding?.role ?? '';
            const options = choices.some((c) => c.value === currentRole) ? choices : [...choices, { value: currentRole, label: currentRole }];
            const select = h('select', { name: `access-${env.path}`, 'aria-label': `Access of ${subject} in ${shortPath(env.path)}` }, ...options.map((c) => h('option', { value: c.value, selected: c.value === currentRole }, c.label)));
            selects.push(select);
            select.addEventListener('change', () => {
              for (const other of selects) if (other !== select) other.disabled = true;
              pending(env.path, here, select.value, select);
            });
            return [h('code', {}, shortPath(env.path)), select, inherited.join('; ')];
          }),
        );
      },
    );

    function pending(scope: string, current: BindingInfo | undefined, role: string, select: HTMLSelectElement): void {
      clear(review);
      const reset = () => {
        select.value = current?.binding?.role ?? '';
        for (const s of selects) s.disabled = false;
        clear(review);
      };
      if ((current?.binding?.role ?? '') === role) return reset();
      const grant = role === '' ? undefined : { subject, role, scope };
      const revoke = current?.binding?.id;
      const flow = reviewFlow({
        preview: async () => {
          const previews: PreviewResponse[] = [];
          if (grant !== undefined) previews.push(await api.call<PreviewResponse>('AdminService', 'PreviewChange', { grant }));
          if (revoke !== undefined) previews.push(await api.call<PreviewResponse>('AdminService', 'PreviewChange', { revoke: { bindingId: revoke } }));
          return merged(previews);
        },
        save: async (reason) => {
          if (grant !== undefined) await api.call('AdminService', 'GrantBinding', { ...grant, reason });
          if (revoke !== undefined) await api.call('AdminService', 'RevokeBinding', { bindingId: revoke, reason });
          const fresh = await api.call<{ bindings?: BindingInfo[] }>('AdminService', 'ListBindings', { scope: org, subject, page: { limit: 1000 } });
          direct.splice(0, direct.length, ...(fresh.bindings ?? []).filter((b) => b.binding?.effect !== 'EFFECT_DENY' && b.binding?.role !== undefined));
          await envs.reload();
          clear(review);
          review.append(h('p', { class: 'ok', role: 'status' }, `Saved: ${subject} in ${shortPath(scope)} is now ${role === '' ? 'without access' : role}.`));
        },
      });
      const what = [grant !== undefined ? `grant ${role}` : undefined, revoke !== undefined ? `revoke ${current?.binding?.role ?? ''}` : undefined].filter(Boolean).join(', then ');
      review.append(
        h('h3', {}, `Change in ${shortPath(scope)}: ${what}`),
        flow.element,
        h('button', { type: 'button', class: 'ghost', onclick: reset }, 'Cancel this change'),
      );
    }

    body.append(envs.element, review);
    await envs.reload();
  })().catch((error: unknown) => body.append(errorBox(error)));
}
