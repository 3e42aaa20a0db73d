/** A world file's text (YAML or JSON; JSON is YAML) parsed and validated, errors naming the place. */
import { parse as parseYaml } from 'yaml';
import { InvalidArgumentError } from '@warden/errors';
import { parseWorld, type World } from './world.js';

export const MAX_WORLD_BYTES = 64 * 1024 * 1024;

export function parseWorldText(text: string, name = 'world'): World {
  if (Buffer.byteLength(text) > MAX_WORLD_BYTES) throw new InvalidArgumentError(name, `is larger than ${MAX_WORLD_BYTES / 1024 / 1024} MiB`);
  let data: unknown;
  try {
    data = parseYaml(text, { maxAliasCount: 1000 });
  } catch (error) {
    throw new InvalidArgumentError(name, `is not valid YAML or JSON: ${(error as Error).message}`);
  }
  try {
    return parseWorld(data);
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`${name}: ${error.field}`, error.problem);
    throw error;
  }
}
