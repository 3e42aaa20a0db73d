import { describe, expect, it } from 'vitest';
import { measureBundle } from '../scripts/size.mjs';

describe('bundle size', () => {
  it('stays under 5 kB minified+gzip, with no imports left', async () => {
    const { code, minified, gzipped } = await measureBundle();
    console.log(`@warden/sdk-browser: ${minified} B minified, ${gzipped} B minified+gzip`);
    expect(gzipped).toBeLessThan(5000);
    // Dependency-free: the bundle imports nothing.
    expect(new TextDecoder().decode(code)).not.toMatch(/\bimport\s*[{"'*]|\brequire\(/);
  });
});
