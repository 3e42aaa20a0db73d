/**
 * Approvals inbox: the change and access requests at a scope that the signed-in user may see
 * (ApprovalsService.ListRequests, which needs approvals:read there), a bounded page at a time:
 * the proposed change (before → after) and its content hash, who asked and why, approvals so
 * far of those required, the request's history. Approve / Reject appear only where a CheckBatch
 * about the user says it may (approvals:approve on a change's resource; users:manage_roles at an
 * access request's scope, the gate of the grant it would write); Close review on a break-glass
 * request whose review is open, for a user allowed approvals:break_glass on the organization (an
 * owner-level action; Warden accepts only an owner who is not the requester). Warden judges
 * every button again: a refusal (self-approval, say) is shown as Warden words it.
 */
import type { Api } from '../api.js';
import { diff } from '../diff.js';
import { announce, clear, errorBox, field, h, modal, shortPath } from '../dom.js';
import { PAGE_SIZE, pager } from '../pager.js';

interface Step {
  kind?: string;
  by?: string;
  at?: string;
  reason?: string;
}

interface AccessGrant {
  subject?: string;
  role?: string;
  actions?: string[];
  scope?: string;
  durationSeconds?: string | number;
}

export interface ChangeRequest {
  id: string;
  kind?: string;
  requester?: string;
  action?: string;
  resource?: string;
  before?: unknown;
  after?: unknown;
  contentHash?: string;
  reason?: string;
  ticket?: string;
  requiredApprovals?: number;
  state?: string;
  approvals?: Step[];
  history?: Step[];
  createdAt?: string;
  expiresAt?: string;
  access?: AccessGrant;
  breakGlass?: boolean;
  reviewClosed?: Step;
  bindingId?: string;
}

interface Shown extends ChangeRequest {
  mayDecide: boolean;
  mayCloseReview: boolean;
}

const STATES: ReadonlyArray<[string, string]> = [
  ['REQUEST_STATE_PENDING', 'Pending'],
  ['REQUEST_STATE_APPROVED', 'Approved (not yet applied)'],
  ['REQUEST_STATE_APPLIED', 'Applied'],
  ['REQUEST_STATE_REJECTED', 'Rejected'],
  ['REQUEST_STATE_EXPIRED', 'Expired'],
  ['REQUEST_STATE_CANCELLED', 'Cancelled'],
  ['REQUEST_STATE_UNSPECIFIED', 'Any state'],
];

const stateName = (state: string | undefined) => (state ?? 'REQUEST_STATE_UNSPECIFIED').replace('REQUEST_STATE_', '').toLowerCase();

function what(r: ChangeRequest): HTMLElement {
  if (r.kind === 'access' && r.access !== undefined) {
    const a = r.access;
    const access = a.role !== undefined && a.role !== '' ? `role ${a.role}` : `actions ${(a.actions ?? []).join(', ')}`;
    const hours = Number(a.durationSeconds ?? 0) / 3600;
    return h('p', {}, 'Access for ', h('strong', {}, a.subject ?? ''), `: ${access} at `, h('code', {}, shortPath(a.scope ?? '')), ` for ${hours.toLocaleString('en', { maximumFractionDigits: 2 })} h`);
  }
  return h('div', {}, h('p', { class: 'hint' }, 'Proposed change (before → after):'), diff(r.before, r.after));
}

function card(api: Api, r: Shown, reload: () => Promise<void>): HTMLElement {
  const title = r.kind === 'access' ? `Access request by ${r.requester ?? ''}` : `${r.action ?? ''} on ${shortPath(r.resource ?? '')}`;
  const headingId = `req-${r.id}`;
  const approvals = r.approvals ?? [];
  const own = r.requester === api.session.subject;
  const review = r.breakGlass === true ? (r.reviewClosed === undefined ? 'review open' : `review closed by ${r.reviewClosed.by ?? ''}`) : undefined;
  const facts: Array<[string, Node | string]> = [
    ['Requested by', `${r.requester ?? ''}${own ? ' (you)' : ''}`],
    ['Reason', r.reason !== undefined && r.reason !== '' ? `“${r.reason}”` : '—'],
    ...(r.ticket !== undefined && r.ticket !== '' ? [['Ticket', r.ticket] as [string, string]] : []),
    ['Approvals', `${approvals.length} of ${r.requiredApprovals ?? 1}${approvals.length > 0 ? `: ${approvals.map((a) => a.by ?? '').join(', ')}` : ''}`],
    ['Content hash', h('code', { class: 'hash' }, r.contentHash ?? '')],
    ['Opened', h('time', { datetime: r.createdAt ?? '' }, r.createdAt ?? '')],
    ['Expires', h('time', { datetime: r.expiresAt ?? '' }, r.expiresAt ?? '')],
    ...(r.bindingId !== undefined && r.bindingId !== '' ? [['Binding', r.bindingId] as [string, string]] : []),
  ];
  const buttons = h('div', { class: 'buttons' });
  const label = r.kind === 'access' ? `access request by ${r.requester ?? ''}` : `request ${r.action ?? ''} on ${shortPath(r.resource ?? '')}`;
  if (r.mayDecide && stateName(r.state) === 'pending') {
    buttons.append(
      h('button', { type: 'button', class: 'primary', 'aria-label': `Approve ${label}`, onclick: () => decide(api, r, 'approve', reload) }, 'Approve'),
      h('button', { type: 'button', class: 'danger', 'aria-label': `Reject ${label}`, onclick: () => decide(api, r, 'reject', reload) }, 'Reject'),
    );
  }
  if (r.mayCloseReview && r.breakGlass === true && r.reviewClosed === undefined && !own) {
    buttons.append(h('button', { type: 'button', 'aria-label': `Close review of ${label}`, onclick: () => decide(api, r, 'close', reload) }, 'Close review'));
  }
  return h(
    'article',
    { class: 'request', 'aria-labelledby': headingId, 'data-testid': 'request' },
    h('h3', { id: headingId }, title, ' ', h('span', { class: `state ${stateName(r.state)}` }, stateName(r.state)), review !== undefined ? h('span', { class: 'state break-glass' }, `break-glass · ${review}`) : null),
    what(r),
    h('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h(
      'details',
      {},
      h('summary', {}, 'History'),
      h('ol', { class: 'steps' }, ...(r.history ?? []).map((s) => h('li', {}, h('time', { datetime: s.at ?? '' }, s.at ?? ''), ` ${s.kind ?? ''} by `, h('strong', {}, s.by ?? ''), s.reason !== undefined && s.reason !== '' ? ` — “${s.reason}”` : ''))),
    ),
    buttons,
  );
}

const VERBS = {
  approve: { title: 'Approve', button: 'Approve', method: 'ApproveRequest', done: 'Approved', reasonNeeded: false },
  reject: { title: 'Reject', button: 'Reject', method: 'RejectRequest', done: 'Rejected', reasonNeeded: true },
  close: { title: 'Close the review of', button: 'Close review', method: 'CloseReview', done: 'Review closed', reasonNeeded: true },
} as const;

/** A dialog asking for the reason; Warden's answer (or refusal) shown in it. */
function decide(api: Api, r: ChangeRequest, verb: keyof typeof VERBS, reload: () => Promise<void>): void {
  const v = VERBS[verb];
  let done = false;
  const { body, close } = modal(`${v.title} ${r.kind === 'access' ? 'access request' : 'change request'} ${r.id}`, () => (done ? reload() : undefined));
  const reason = h('textarea', { name: 'reason', rows: 3, required: v.reasonNeeded });
  const result = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: verb === 'reject' ? 'danger' : 'primary' }, v.button);
  const form = h(
    'form',
    {},
    h('p', {}, r.kind === 'access' ? what(r) : h('span', {}, h('code', {}, r.action ?? ''), ' on ', h('code', {}, shortPath(r.resource ?? '')), ', content hash ', h('code', {}, r.contentHash ?? ''))),
    field(v.reasonNeeded ? 'Reason (required, recorded)' : 'Reason (recorded)', reason),
    h('div', { class: 'buttons' }, submit),
    result,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    clear(result);
    api
      .call('ApprovalsService', v.method, { id: r.id, reason: reason.value.trim() })
      .then(() => {
        done = true;
        announce(`${v.done}: ${r.id}`);
        close();
      })
      .catch((error: unknown) => {
        submit.disabled = false;
        result.append(errorBox(error));
      });
  });
  body.append(form);
  reason.focus();
}

export async function approvalsPage(api: Api, main: HTMLElement): Promise<void> {
  const org = `org:${api.session.org}`;
  main.append(h('h1', {}, 'Approvals'));
  main.append(h('p', { class: 'hint' }, 'Change and access requests you may read, newest first. Approve and Reject appear where Warden says you may approve; Warden checks again when you press them, and nobody approves their own request.'));
  const scope = h('select', { name: 'scope' }, h('option', { value: org }, 'Whole organization'));
  try {
    const envs = await api.call<{ resources?: Array<{ path: string }> }>('DirectoryService', 'ListResources', { scope: org, resourceType: 'env', page: { limit: 200 } });
    for (const env of envs.resources ?? []) scope.append(h('option', { value: env.path }, shortPath(env.path)));
  } catch {
    // the user may read no environment: the organization only
  }
  const state = h('select', { name: 'state' }, ...STATES.map(([value, label]) => h('option', { value }, label)));
  // Whether the user may close break-glass reviews: asked once per page view.
  let mayClose: boolean | undefined;

  const reload = (): Promise<void> => inbox.reload();
  const inbox: { element: HTMLElement; reload: () => Promise<void> } = pager<Shown>(
    'Requests',
    async (token) => {
      const page = await api.call<{ requests?: ChangeRequest[]; nextPageToken?: string }>('ApprovalsService', 'ListRequests', { scope: scope.value, state: state.value, limit: PAGE_SIZE, pageToken: token });
      const requests = page.requests ?? [];
      // An access request's approver must be able to grant it (GrantBinding's gate); a change's must hold approvals:approve.
      const questions = requests.map((r) => (r.kind === 'access' ? { action: 'users:manage_roles', resource: r.access?.scope ?? r.resource ?? org } : { action: 'approvals:approve', resource: r.resource ?? org }));
      if (mayClose === undefined && requests.some((r) => r.breakGlass === true)) questions.push({ action: 'approvals:break_glass', resource: org });
      const answers = await api.can(questions);
      if (mayClose === undefined && questions.length > requests.length) mayClose = answers[requests.length] === true;
      return { items: requests.map((r, i) => ({ ...r, mayDecide: answers[i] === true, mayCloseReview: mayClose === true })), next: page.nextPageToken ?? '' };
    },
    (items): HTMLElement => (items.length === 0 ? h('p', {}, 'No requests match.') : h('div', { class: 'requests' }, ...items.map((r) => card(api, r, reload)))),
  );
  const filters = h('form', { class: 'inline filters', 'aria-label': 'Filters' }, field('Scope', scope), field('State', state), h('button', { type: 'submit', class: 'primary' }, 'Show'));
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    void inbox.reload();
  });
  main.append(filters, inbox.element);
  await inbox.reload();
}
