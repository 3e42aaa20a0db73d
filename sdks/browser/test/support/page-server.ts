/**
 * The product's web app for the browser test, on 127.0.0.1: the page, the page script
 * bundled with the SDK by esbuild, and a stand-in for the app's login session
 * (cookie `session` → the user and a bearer token from the identity provider).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PAGE_DIR = new URL('../page/', import.meta.url);

export interface Session {
  readonly user: string;
  readonly token: string;
}

export interface PageServer {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** Sessions by cookie value; the test fills it in. */
  readonly sessions: Map<string, Session>;
  /** Sets where the page sends its AuthZEN requests. */
  setAuthzUrl(url: string): void;
  close(): Promise<void>;
}

function sessionOf(request: IncomingMessage, sessions: Map<string, Session>): Session | undefined {
  const id = /(?:^|;\s*)session=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
  return id === undefined ? undefined : sessions.get(id);
}

export async function startPageServer(): Promise<PageServer> {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('app.ts', PAGE_DIR))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]!.contents;
  const template = await readFile(new URL('index.html', PAGE_DIR), 'utf8');
  const sessions = new Map<string, Session>();
  let authzUrl = '';

  const server = createServer((request, response) => {
    const route = (request.url ?? '/').split('?')[0];
    const session = sessionOf(request, sessions);
    if (request.method !== 'GET') {
      response.writeHead(405).end();
    } else if (route === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(template.replace('%AUTHZ_URL%', authzUrl));
    } else if (route === '/app.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    } else if (route === '/session' || route === '/token') {
      if (session === undefined) response.writeHead(401).end('not signed in');
      else if (route === '/session') response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ user: session.user }));
      else response.writeHead(200, { 'content-type': 'text/plain' }).end(session.token);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    origin: `http://127.0.0.1:${port}`,
    sessions,
    setAuthzUrl(url) {
      authzUrl = url;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
