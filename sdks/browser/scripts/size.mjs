#!/usr/bin/env node
// The SDK as a browser app ships it: bundled, minified ESM; its size raw and gzipped.
// `npm run size -w @warden/sdk-browser` prints it; test/size.test.ts keeps it under 5 kB.
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/** @returns {Promise<{ code: Uint8Array; minified: number; gzipped: number }>} */
export async function measureBundle() {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  return { code, minified: code.byteLength, gzipped: gzipSync(code).byteLength };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { minified, gzipped } = await measureBundle();
  console.log(`@warden/sdk-browser: ${minified} B minified, ${gzipped} B minified+gzip (esbuild --bundle --minify --format=esm --target=es2022; zlib gzipSync, default level)`);
}
