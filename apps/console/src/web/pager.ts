/**
 * A paged list: one page at a time (the API's keyset page tokens), Previous / Next. Never
 * loads everything: 10,000 members or 100,000 bindings are 200 or 2,000 pages of 50.
 */
import { clear, errorBox, h } from './dom.js';

export const PAGE_SIZE = 50;

export interface PageOf<T> {
  readonly items: T[];
  readonly next: string;
}

export function pager<T>(label: string, load: (token: string) => Promise<PageOf<T>>, render: (items: T[]) => HTMLElement): { element: HTMLElement; reload: () => Promise<void> } {
  const body = h('div', { class: 'page-body' });
  const status = h('span', { class: 'page-status', 'aria-live': 'polite' });
  const previous = h('button', { type: 'button', disabled: true }, 'Previous page');
  const next = h('button', { type: 'button', disabled: true }, 'Next page');
  const tokens: string[] = [''];
  let index = 0;

  async function show(): Promise<void> {
    previous.disabled = true;
    next.disabled = true;
    try {
      const page = await load(tokens[index] ?? '');
      clear(body);
      body.append(render(page.items));
      tokens[index + 1] = page.next;
      tokens.length = index + 2;
      previous.disabled = index === 0;
      next.disabled = page.next === '';
      status.textContent = `Page ${index + 1}${page.items.length === 0 ? ' (empty)' : ''}`;
    } catch (error) {
      clear(body);
      body.append(errorBox(error));
    }
  }
  previous.addEventListener('click', () => {
    index = Math.max(0, index - 1);
    void show();
  });
  next.addEventListener('click', () => {
    index++;
    void show();
  });
  const element = h('div', { class: 'pager', role: 'region', 'aria-label': label }, body, h('div', { class: 'page-nav' }, previous, status, next));
  return {
    element,
    reload: () => {
      index = 0;
      tokens.length = 1;
      return show();
    },
  };
}
