/**
 * Every edit is previewed before it is saved: PreviewChange answers who gains and who loses
 * which actions where, what rules are loosened, and whether the signed-in user may make the
 * change at all. Save stays disabled until the current form has been previewed, and any edit
 * after the preview disables it again.
 */
import type { Json } from './api.js';
import { announce, clear, errorBox, field, h, shortPath } from './dom.js';

interface AccessChange {
  subject?: string;
  action?: string;
  resource?: string;
  before?: string;
  after?: string;
}

export interface PreviewResponse {
  effect?: { gains?: AccessChange[]; losses?: AccessChange[]; loosened?: Array<{ resource?: string; how?: string[] }>; truncated?: boolean; gainsTotal?: number; lossesTotal?: number };
  allowed?: boolean;
  refusal?: string;
  brokenInvariant?: string;
}

const DECISION: Readonly<Record<string, string>> = {
  DECISION_ALLOW: 'allowed',
  DECISION_DENY: 'denied',
  DECISION_REQUIRES_APPROVAL: 'needs approval',
  DECISION_UNSPECIFIED: 'denied',
};
const decision = (value: string | undefined) => DECISION[value ?? 'DECISION_UNSPECIFIED'] ?? value ?? 'denied';

/** Changes grouped by (subject, resource, before → after): one line lists the actions. */
function grouped(changes: readonly AccessChange[]): HTMLElement {
  const groups = new Map<string, { subject: string; resource: string; move: string; actions: string[] }>();
  for (const c of changes) {
    const move = `${decision(c.before)} → ${decision(c.after)}`;
    const key = `${c.subject ?? ''}\u0000${c.resource ?? ''}\u0000${move}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { subject: c.subject ?? '', resource: c.resource ?? '', move, actions: [] };
      groups.set(key, group);
    }
    group.actions.push(c.action ?? '');
  }
  return h(
    'ul',
    { class: 'effect' },
    ...[...groups.values()].map((g) =>
      h('li', {}, h('strong', {}, g.subject), ' on ', h('code', {}, shortPath(g.resource)), ` (${g.move}): `, g.actions.join(', ')),
    ),
  );
}

export function renderPreview(preview: PreviewResponse): HTMLElement {
  const effect = preview.effect ?? {};
  const gains = effect.gains ?? [];
  const losses = effect.losses ?? [];
  const loosened = effect.loosened ?? [];
  const gainsTotal = effect.gainsTotal ?? gains.length;
  const lossesTotal = effect.lossesTotal ?? losses.length;
  const box = h('section', { class: 'preview', 'aria-label': 'Preview of the change', 'data-testid': 'preview' });
  box.append(h('h3', {}, `Preview: ${gainsTotal} gained, ${lossesTotal} lost`));
  if (gainsTotal === 0 && lossesTotal === 0 && loosened.length === 0) box.append(h('p', {}, 'Nobody gains or loses anything.'));
  if (gains.length > 0) box.append(h('h4', {}, 'Gains'), grouped(gains));
  if (losses.length > 0) box.append(h('h4', {}, 'Losses'), grouped(losses));
  if (loosened.length > 0) {
    box.append(h('h4', {}, 'Rules loosened'), h('ul', {}, ...loosened.map((l) => h('li', {}, h('code', {}, shortPath(l.resource ?? '')), ': ', (l.how ?? []).join(', ')))));
  }
  if (effect.truncated === true) box.append(h('p', { class: 'hint' }, 'Only the first entries are listed; the totals are exact.'));
  if (preview.allowed === true) box.append(h('p', { class: 'ok' }, 'You may make this change.'));
  else {
    const why = preview.refusal !== undefined && preview.refusal !== '' ? preview.refusal : preview.brokenInvariant ?? 'refused';
    box.append(h('p', { class: 'error', role: 'alert' }, `Warden would refuse this change: ${why}`));
  }
  return box;
}

export interface ReviewFlow {
  readonly element: HTMLElement;
  /** The form changed: the last preview no longer describes it. */
  invalidate(): void;
}

/**
 * Reason, Preview and Save. `preview` asks PreviewChange for the current form; `save` makes
 * the change with the reason (its errors are shown, nothing is assumed saved).
 */
export function reviewFlow(options: { preview: () => Promise<PreviewResponse>; save: (reason: string) => Promise<void>; saveLabel?: string }): ReviewFlow {
  const reason = h('input', { type: 'text', name: 'reason', autocomplete: 'off', maxlength: 500 });
  const result = h('div', { class: 'preview-slot', 'aria-live': 'polite' });
  const previewButton = h('button', { type: 'button' }, 'Preview');
  const saveButton = h('button', { type: 'button', class: 'primary', disabled: true }, options.saveLabel ?? 'Save');
  let previewed = false;

  const invalidate = () => {
    previewed = false;
    saveButton.disabled = true;
    clear(result);
  };
  previewButton.addEventListener('click', () => {
    clear(result);
    previewButton.disabled = true;
    options
      .preview()
      .then((preview) => {
        result.append(renderPreview(preview));
        previewed = preview.allowed === true;
        saveButton.disabled = !previewed;
        announce(previewed ? 'Preview ready: the change may be saved.' : 'Preview ready: Warden would refuse this change.');
      })
      .catch((error: unknown) => result.append(errorBox(error)))
      .finally(() => (previewButton.disabled = false));
  });
  saveButton.addEventListener('click', () => {
    if (!previewed) return;
    saveButton.disabled = true;
    options
      .save(reason.value.trim())
      .then(() => announce('Saved.'))
      .catch((error: unknown) => {
        result.append(errorBox(error));
        saveButton.disabled = false;
      });
  });
  const element = h('div', { class: 'review' }, field('Reason (recorded with the change)', reason), h('div', { class: 'buttons' }, previewButton, saveButton), result);
  return { element, invalidate };
}

export type { Json };
