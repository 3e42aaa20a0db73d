/** A few DOM helpers: elements, tables, a modal dialog, a live region, downloads. No framework. */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/** `h('button', { type: 'button', onclick: f }, 'Save')`: attributes, `on*` listeners, children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

export function clear(element: Element): void {
  while (element.firstChild !== null) element.removeChild(element.firstChild);
}

let ids = 0;
export function uid(prefix: string): string {
  ids++;
  return `${prefix}-${ids}`;
}

/** A labelled control: `<label for>` + the control, in one block. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  control.id ||= uid('f');
  const block = h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
  if (hint !== undefined) {
    const hintId = uid('hint');
    control.setAttribute('aria-describedby', hintId);
    block.append(h('small', { id: hintId, class: 'hint' }, hint));
  }
  return block;
}

export function checkbox(label: string, checked: boolean, name?: string): { block: HTMLElement; input: HTMLInputElement } {
  const input = h('input', { type: 'checkbox', name, id: uid('c') });
  input.checked = checked;
  return { input, block: h('div', { class: 'field check' }, input, h('label', { for: input.id }, label)) };
}

/** A data table with a caption and column headers (`scope="col"`). */
export function table(caption: string, columns: readonly string[], rows: ReadonlyArray<readonly Child[]>): HTMLTableElement {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { scope: 'col' }, c)))),
    // data-label: at phone width each cell is a line of its own, named by its column (CSS).
    h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((cell, i) => h('td', { 'data-label': columns[i] || undefined }, cell))))),
  );
}

/** Polite announcements for screen readers, and visible status. */
export function announce(message: string): void {
  const live = document.getElementById('live');
  if (live !== null) live.textContent = message;
}

/** An error box (role=alert) for a failed call. */
export function errorBox(error: unknown): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  const code = typeof (error as { code?: unknown }).code === 'string' ? `${(error as { code: string }).code}: ` : '';
  return h('p', { class: 'error', role: 'alert' }, code + message);
}

/**
 * A modal dialog (`<dialog>` with showModal: focus is trapped, Escape closes it, focus goes
 * back to what opened it). Returns the dialog's body to fill and a close function.
 */
export function modal(title: string, onClose?: () => Promise<void> | void): { body: HTMLElement; close: () => void; dialog: HTMLDialogElement } {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
  const openerLabel = opener?.getAttribute('aria-label') ?? undefined;
  const titleId = uid('dlg');
  const body = h('div', { class: 'dialog-body' });
  const dialog = h('dialog', { 'aria-labelledby': titleId });
  const close = () => dialog.close();
  dialog.append(
    h('header', { class: 'dialog-head' }, h('h2', { id: titleId }, title), h('button', { type: 'button', class: 'ghost', 'aria-label': 'Close', onclick: close }, '×')),
    body,
  );
  dialog.addEventListener('close', () => {
    dialog.remove();
    opener?.focus();
    // If closing re-rendered the list, focus the same control in the new one.
    void Promise.resolve(onClose?.()).then(() => {
      if (opener?.isConnected === true || openerLabel === undefined) return;
      for (const element of document.querySelectorAll<HTMLElement>('[aria-label]')) {
        if (element.getAttribute('aria-label') === openerLabel) return element.focus();
      }
    });
  });
  document.body.append(dialog);
  dialog.showModal();
  return { body, close, dialog };
}

export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The part of a path below the organization: `project:checkout/env:production`. */
export function shortPath(path: string): string {
  const slash = path.indexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}
