/**
 * The web console's static files (apps/console, built with the workspace) at /console. The
 * files are read once at start into memory: only those, by exact name, are ever served (no
 * path from a request reaches the file system). The console is a client like any other: it
 * calls the public API with the signed-in user's credential, so these routes are public and
 * carry no data. A strict Content-Security-Policy allows only the console's own scripts and
 * styles and same-origin API calls.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

export const CONSOLE_PATH = '/console';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

const HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
  'x-frame-options': 'DENY',
};

/** Every servable file under `dir`, by its `/`-separated relative name. */
async function readAll(dir: string, prefix = '', files = new Map<string, { type: string; body: Buffer }>()) {
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const name = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) await readAll(dir, name, files);
    const type = TYPES[path.extname(entry.name)];
    if (entry.isFile() && type !== undefined) files.set(name, { type, body: await readFile(path.join(dir, name)) });
  }
  return files;
}

/** Reads the console's files once and registers GET /console, /console/ and /console/<file>. */
export async function registerConsole(app: FastifyInstance, dir: string): Promise<void> {
  const files = await readAll(dir);
  if (!files.has('index.html')) throw new Error(`the console's files are missing from ${dir}: build apps/console (npx turbo run build)`);
  const send = (name: string) => files.get(name);

  app.get(CONSOLE_PATH, { config: { public: true } }, async (_request, reply) => reply.redirect(`${CONSOLE_PATH}/`, 302));
  app.get(`${CONSOLE_PATH}/`, { config: { public: true } }, async (_request, reply) => {
    const file = send('index.html')!;
    return reply.headers(HEADERS).type(file.type).send(file.body);
  });
  app.get<{ Params: { '*': string } }>(`${CONSOLE_PATH}/*`, { config: { public: true } }, async (request, reply) => {
    const name = request.params['*'];
    const file = send(name);
    if (file === undefined) return reply.code(404).type('text/plain; charset=utf-8').send('no such console file');
    return reply.headers(HEADERS).type(file.type).send(file.body);
  });
}
