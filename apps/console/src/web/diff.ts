/**
 * Before → after, one line a key that differs (values as JSON): a changelog row's before and
 * after, or the change a request proposes. Nothing before: "created"; nothing after: "removed";
 * values that are not both objects (or absent): the two values on one line.
 */
import type { Json } from './api.js';
import { h } from './dom.js';

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const absent = (v: unknown): v is null | undefined => v === undefined || v === null;
const show = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v));

export function diff(before: unknown, after: unknown): HTMLElement {
  if (!(absent(before) || isObject(before)) || !(absent(after) || isObject(after)) || (absent(before) && absent(after))) {
    return h('ul', { class: 'diff' }, h('li', {}, h('del', {}, show(before ?? undefined)), ' → ', h('ins', {}, show(after ?? undefined))));
  }
  const was = isObject(before) ? before : {};
  const now = isObject(after) ? after : {};
  const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
  const rows = keys
    .filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]))
    .map((k) => h('li', {}, h('code', {}, k), ': ', h('del', {}, show(was[k])), ' → ', h('ins', {}, show(now[k]))));
  if (absent(before)) rows.unshift(h('li', {}, 'created'));
  if (absent(after)) rows.unshift(h('li', {}, 'removed'));
  if (rows.length === 0) rows.push(h('li', {}, 'no change'));
  return h('ul', { class: 'diff' }, ...rows);
}
