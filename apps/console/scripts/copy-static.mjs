// Copies static/ (index.html, console.css) next to the compiled modules in dist/web.
import { cpSync, mkdirSync } from 'node:fs';

const root = new URL('../', import.meta.url);
mkdirSync(new URL('dist/web/', root), { recursive: true });
cpSync(new URL('static/', root), new URL('dist/web/', root), { recursive: true });
