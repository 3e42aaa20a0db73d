/**
 * A flag page as a product would write it: the signed-in user's token comes from the
 * app's own session endpoint; buttons stay hidden unless Warden allows them.
 * `?as=user:…` asks about another subject (the service must refuse it with 403).
 */
import { createWardenClient, WardenError } from '../../src/index.js';

const status = document.getElementById('status')!;
const buttons = [...document.querySelectorAll<HTMLButtonElement>('button[data-action]')];

async function main(): Promise<void> {
  const session = (await (await fetch('/session')).json()) as { user: string };
  document.getElementById('user')!.textContent = session.user;
  const warden = createWardenClient({
    baseUrl: document.querySelector<HTMLMetaElement>('meta[name="warden-authz"]')!.content,
    subject: new URLSearchParams(location.search).get('as') ?? `user:${session.user}`,
    getToken: async () => {
      const response = await fetch('/token');
      if (!response.ok) throw new Error(`no session token (${response.status})`);
      return response.text();
    },
  });
  const questions = buttons.map((button) => ({ action: button.dataset['action']!, resource: button.dataset['resource']! }));
  // Prefetch every question in one request; the can() calls below are then answered from the cache.
  await warden.canMany(questions);
  await Promise.all(
    buttons.map(async (button, i) => {
      button.hidden = !(await warden.can(questions[i]!.action, questions[i]!.resource));
    }),
  );
  status.textContent = 'Ready';
  document.body.dataset['state'] = 'ready';
}

main().catch((error: unknown) => {
  status.textContent = error instanceof WardenError ? `${error.name} ${String(error.status)}: ${error.message}` : `Error: ${String(error)}`;
  document.body.dataset['state'] = 'error';
});
