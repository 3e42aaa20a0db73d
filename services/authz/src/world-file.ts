/** Reading a world file (YAML or JSON) from disk. */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@warden/errors';
import type { World } from './domain/world.js';
import { parseWorldText } from './domain/world-text.js';

export async function readWorldFile(file: string): Promise<World> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(file, `cannot be read: ${(error as Error).message}`);
  }
  return parseWorldText(text, file);
}
