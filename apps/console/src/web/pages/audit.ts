/**
 * Audit: the timeline of a scope from authz's changelog (DirectoryService.ListChanges, which
 * needs audit:read there): who changed what, before → after, why; filters by environment or
 * any resource, actor, kind of change and time; export as JSON Lines or CSV.
 *
 * Verification: the signed audit log lives in the audit service, which answers gRPC only (no
 * browser route), so the console cannot verify what it shows; it says so on the page.
 */
import type { Api, Json } from '../api.js';
import { clear, download, errorBox, field, h, shortPath } from '../dom.js';
import { PAGE_SIZE, pager } from '../pager.js';

interface Change {
  revision?: number;
  seq?: number;
  at?: string;
  actor?: string;
  kind?: string;
  key?: string;
  resource?: string;
  before?: Json;
  after?: Json;
  reason?: string;
}

const KINDS: ReadonlyArray<[string, string]> = [
  ['', 'Any change'],
  ['binding.', 'Access (bindings)'],
  ['resource.', 'Settings (resources)'],
  ['role.', 'Roles'],
  ['group_member.', 'Group members'],
  ['api_key.', 'API keys'],
  ['catalogue.', 'Action catalogue'],
];

function diff(before: Json | undefined, after: Json | undefined): HTMLElement {
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].sort();
  const show = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v));
  const rows = keys
    .filter((k) => JSON.stringify(before?.[k]) !== JSON.stringify(after?.[k]))
    .map((k) => h('li', {}, h('code', {}, k), ': ', h('del', {}, show(before?.[k])), ' → ', h('ins', {}, show(after?.[k]))));
  if (before === undefined) rows.unshift(h('li', {}, 'created'));
  if (after === undefined) rows.unshift(h('li', {}, 'removed'));
  return h('ul', { class: 'diff' }, ...rows);
}

/**
 * One RFC 4180 field. A text a spreadsheet would run as a formula (=, +, -, @, tab, CR first:
 * OWASP's CSV injection advice) gets a leading ' — the JSON Lines export keeps every value as is.
 */
function csvCell(value: unknown): string {
  const raw = value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  const text = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export async function auditPage(api: Api, main: HTMLElement): Promise<void> {
  const org = `org:${api.session.org}`;
  main.append(h('h1', {}, 'Audit'));
  main.append(
    h(
      'p',
      { class: 'verify', role: 'note', 'data-testid': 'verify-status' },
      h('strong', {}, 'Verify status: not verified in the browser. '),
      'These entries are authz’s changelog, from which the signed audit events are made; the audit service, which verifies its log, has no browser API. Verify with ',
      h('code', {}, 'warden verify'),
      '.',
    ),
  );

  const environment = h('select', { name: 'environment' }, h('option', { value: org }, 'Whole organization'));
  try {
    const envs = await api.call<{ resources?: Array<{ path: string }> }>('DirectoryService', 'ListResources', { scope: org, resourceType: 'env', page: { limit: 200 } });
    for (const env of envs.resources ?? []) environment.append(h('option', { value: env.path }, shortPath(env.path)));
  } catch {
    // the user may read no environment: the organization only
  }
  const resource = h('input', { type: 'text', name: 'resource', placeholder: `${org}/project:…/env:…/flag:…` });
  const actor = h('input', { type: 'text', name: 'actor', placeholder: 'user:sarah@acme.com' });
  const kind = h('select', { name: 'kind' }, ...KINDS.map(([value, label]) => h('option', { value }, label)));
  const since = h('input', { type: 'datetime-local', name: 'since' });
  const until = h('input', { type: 'datetime-local', name: 'until' });

  const query = (): Json => {
    const q: Json = { scope: resource.value.trim() !== '' ? resource.value.trim() : environment.value };
    if (actor.value.trim() !== '') q.actor = actor.value.trim();
    if (kind.value !== '') q.kind = kind.value;
    if (since.value !== '') q.since = new Date(since.value).toISOString();
    if (until.value !== '') q.until = new Date(until.value).toISOString();
    return q;
  };
  const page = (q: Json, token: string, limit: number) => api.call<{ changes?: Change[]; nextPageToken?: string }>('DirectoryService', 'ListChanges', { ...q, page: { token, limit } });

  const timeline = pager<Change>(
    'Timeline',
    async (token) => {
      const result = await page(query(), token, PAGE_SIZE);
      return { items: result.changes ?? [], next: result.nextPageToken ?? '' };
    },
    (items) =>
      items.length === 0
        ? h('p', {}, 'No changes match.')
        : h(
            'ol',
            { class: 'timeline', 'data-testid': 'timeline' },
            ...items.map((c) =>
              h(
                'li',
                {},
                h('div', { class: 'when' }, h('time', { datetime: c.at ?? '' }, c.at ?? ''), ` · revision ${c.revision ?? 0}`),
                h('div', {}, h('strong', {}, c.actor ?? ''), ` ${c.kind ?? ''} `, h('code', {}, shortPath(c.resource ?? '')), c.reason !== undefined ? ` — “${c.reason}”` : ''),
                diff(c.before, c.after),
              ),
            ),
          ),
  );

  const status = h('p', { class: 'hint', 'aria-live': 'polite' });
  async function exportAll(format: 'jsonl' | 'csv'): Promise<void> {
    const q = query();
    const all: Change[] = [];
    let token = '';
    // Bounded: 100 pages of 1000 (100,000 changes); narrow the filters for more.
    for (let i = 0; i < 100; i++) {
      const result = await page(q, token, 1000);
      all.push(...(result.changes ?? []));
      status.textContent = `Exporting… ${all.length} changes`;
      token = result.nextPageToken ?? '';
      if (token === '') break;
    }
    const fields = ['revision', 'seq', 'at', 'actor', 'kind', 'key', 'resource', 'reason', 'before', 'after'] as const;
    const text =
      format === 'jsonl'
        ? all.map((c) => JSON.stringify(c)).join('\n') + (all.length > 0 ? '\n' : '')
        : [fields.join(','), ...all.map((c) => fields.map((f) => csvCell(c[f])).join(','))].join('\r\n') + '\r\n';
    download(`warden-audit-${api.session.org}.${format === 'jsonl' ? 'jsonl' : 'csv'}`, format === 'jsonl' ? 'application/jsonl' : 'text/csv', text);
    status.textContent = `Exported ${all.length} changes${token !== '' ? ' (stopped at 100,000: narrow the filters)' : ''}.`;
  }
  const exportButton = (format: 'jsonl' | 'csv', label: string) =>
    h('button', {
      type: 'button',
      onclick: () => {
        exportAll(format).catch((error: unknown) => {
          clear(status);
          status.append(errorBox(error));
        });
      },
    }, label);

  const filters = h(
    'form',
    { class: 'inline filters', 'aria-label': 'Filters' },
    field('Environment', environment),
    field('Resource path', resource, 'Overrides the environment when set.'),
    field('Actor', actor),
    field('Kind', kind),
    field('Since', since),
    field('Until', until),
    h('button', { type: 'submit', class: 'primary' }, 'Apply filters'),
  );
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    void timeline.reload();
  });
  main.append(filters, h('div', { class: 'buttons' }, exportButton('jsonl', 'Export JSON Lines'), exportButton('csv', 'Export CSV')), status, timeline.element);
  await timeline.reload();
}
