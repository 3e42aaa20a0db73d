/**
 * Audit: the timeline of a scope from authz's changelog (DirectoryService.ListChanges, which
 * needs audit:read there): who changed what, before → after, why; filters by environment or
 * any resource, actor, kind of change and time; export as JSON Lines or CSV.
 *
 * Verification: each row's audit event (ChangeInfo.event_id) is looked up through authz's
 * AuditStatusService, which asks the audit service with the user's own credential and checks
 * the inclusion proofs against the newest signed checkpoint itself (verify-status.ts); each row
 * and a summary line say what was verified, what is not in the log yet, and what could not be.
 */
import type { Api, Json } from '../api.js';
import { clear, download, errorBox, field, h, shortPath } from '../dom.js';
import { PAGE_SIZE, pager } from '../pager.js';
import { diff } from '../diff.js';
import { fetchStatus, rowStatus, summary } from '../verify-status.js';

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
  eventId?: string;
}

const KINDS: ReadonlyArray<[string, string]> = [
  ['', 'Any change'],
  ['binding.', 'Access (bindings)'],
  ['resource.', 'Settings (resources)'],
  ['role.', 'Roles'],
  ['group_member.', 'Group members'],
  ['api_key.', 'API keys'],
  ['catalogue.', 'Action catalogue'],
  ['request.', 'Approvals (requests)'],
];

const STEP_WORDS: Readonly<Record<string, string>> = {
  opened: 'Requested by',
  approved: 'Approved by',
  rejected: 'Rejected by',
  cancelled: 'Cancelled by',
  expired: 'Expired, recorded by',
  applied: 'Applied by',
  break_glass: 'Break-glass taken by',
  review_closed: 'Break-glass review closed by',
};

/**
 * An approval step (a `request.*` change: docs/approvals.md, "The record"): who made the step,
 * the request's approvals so far of those required, its content hash, and — for the request
 * being opened, taken by break-glass or applied — the change itself, before → after.
 */
function approvalStep(c: Change): HTMLElement {
  const after = (c.after ?? {}) as Json & { change?: { before?: unknown; after?: unknown } };
  const step = (c.kind ?? '').slice('request.'.length);
  const approvers = Array.isArray(after.approvers) ? (after.approvers as unknown[]).map(String) : [];
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  return h(
    'div',
    { class: 'approval-step', 'data-testid': 'approval-step' },
    h('p', {}, h('strong', {}, `${STEP_WORDS[step] ?? step} ${c.actor ?? ''}`), ` · ${text(after.kind)} request ${text(after.id)} (${text(after.state)})`, after.break_glass === true ? ' · break-glass' : ''),
    h(
      'p',
      {},
      `${text(after.action)} on `,
      h('code', {}, shortPath(text(after.resource))),
      ` · approvals ${approvers.length} of ${typeof after.required === 'number' ? after.required : 1}${approvers.length > 0 ? `: ${approvers.join(', ')}` : ''} · content hash `,
      h('code', {}, text(after.content_hash)),
    ),
    after.change !== undefined ? diff(after.change.before, after.change.after) : null,
  );
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
  const verifyStatus = h('p', { class: 'verify', role: 'status', 'data-testid': 'verify-status' }, 'Verify status: checking…');
  main.append(verifyStatus);

  /** Fills each shown row's verify status (and the summary) from authz's checked answer. */
  let shown = 0; // the page last rendered: an older page's late answer must not overwrite the summary
  async function verifyRows(items: Change[], cells: HTMLElement[]): Promise<void> {
    const mine = ++shown;
    const ids = items.map((c) => c.eventId).filter((id): id is string => id !== undefined && id !== '');
    let status: Awaited<ReturnType<typeof fetchStatus>> | undefined;
    let failure: string | undefined;
    try {
      status = await fetchStatus(api, org, ids);
    } catch (error) {
      failure = (error as Error).message;
    }
    const rows = items.map((c, i) => {
      const row = rowStatus(c.eventId, status, failure);
      const cell = cells[i]!;
      cell.textContent = row.text;
      cell.setAttribute('aria-label', row.label);
      cell.dataset.tone = row.tone;
      return row;
    });
    if (mine === shown) verifyStatus.textContent = summary(rows, status, failure);
  }

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
    (items) => {
      if (items.length === 0) {
        shown++;
        verifyStatus.textContent = 'Verify status: nothing shown.';
        return h('p', {}, 'No changes match.');
      }
      verifyStatus.textContent = 'Verify status: checking…';
      const cells = items.map(() => h('p', { class: 'row-verify', 'data-testid': 'row-verify', 'aria-label': 'Audit log: checking' }, 'checking the audit log…'));
      void verifyRows(items, cells);
      return h(
        'ol',
        { class: 'timeline', 'data-testid': 'timeline' },
        ...items.map((c, i) =>
          h(
            'li',
            {},
            h('div', { class: 'when' }, h('time', { datetime: c.at ?? '' }, c.at ?? ''), ` · revision ${c.revision ?? 0}`),
            cells[i]!,
            h('div', {}, h('strong', {}, c.actor ?? ''), ` ${c.kind ?? ''} `, h('code', {}, shortPath(c.resource ?? '')), c.reason !== undefined ? ` — “${c.reason}”` : ''),
            c.kind?.startsWith('request.') === true ? approvalStep(c) : diff(c.before, c.after),
          ),
        ),
      );
    },
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
