/**
 * Where the console's built files are (dist/web: index.html, console.css and the ES modules
 * compiled from src/web). authz serves this directory at /console when AUTHZ_CONSOLE=true;
 * it imports this path, never the console's code.
 */
import { fileURLToPath } from 'node:url';

export const CONSOLE_ASSETS_DIR: string = fileURLToPath(new URL('./web/', import.meta.url));
