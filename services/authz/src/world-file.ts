/** Reading a world file (YAML or JSON) from disk. */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { InvalidArgumentError } from '@warden/errors';
import { parseWorld, type World } from './domain/world.js';

export async function readWorldFile(file: string): Promise<World> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(file, `cannot be read: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text, { maxAliasCount: 1000 });
  } catch (error) {
    throw new InvalidArgumentError(file, `is not valid YAML or JSON: ${(error as Error).message}`);
  }
  try {
    return parseWorld(data);
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`${file}: ${error.field}`, error.problem);
    throw error;
  }
}
