/** One authz (with the console) for every spec of the run; each spec drives its own browser. */
import type { TestProject } from 'vitest/node';
import { startServer } from './stack.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { served, stop } = await startServer();
  project.provide('console', served);
  return stop;
}
