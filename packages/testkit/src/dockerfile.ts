/**
 * What a Dockerfile's final stage runs: its ENV (KEY=value pairs without quotes) and its
 * exec-form CMD. The deploy tests start the image's command natively, and the benchmark
 * runs authz with the node options its image gives; both read them here.
 */
import { readFileSync } from 'node:fs';

export interface DockerImage {
  readonly env: Readonly<Record<string, string>>;
  /** The exec-form CMD, e.g. ["node", "--heap-growing-percent=80", "services/authz/dist/main.js"]. */
  readonly cmd: readonly string[];
}

/** Parses the final stage of Dockerfile `text` (`name` is for messages); throws on what it cannot read. */
export function parseDockerfile(text: string, name = 'Dockerfile'): DockerImage {
  const joined = text.replace(/\\\n/g, ' ');
  const from = joined.lastIndexOf('\nFROM ');
  const stage = from === -1 ? joined : joined.slice(from);
  const env: Record<string, string> = {};
  for (const [, body] of stage.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of body!.trim().split(/\s+/)) {
      const match = /^([A-Z_][A-Z0-9_]*)=([^"'\s]*)$/.exec(pair);
      if (match === null) throw new Error(`${name}: cannot read ENV ${pair} (KEY=value without quotes expected)`);
      env[match[1]!] = match[2]!;
    }
  }
  const cmd = /^CMD (\[.*\])$/m.exec(stage)?.[1];
  if (cmd === undefined) throw new Error(`${name}: no exec-form CMD`);
  const parsed: unknown = JSON.parse(cmd);
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((part) => typeof part === 'string')) throw new Error(`${name}: CMD is not a list of strings`);
  return { env, cmd: parsed };
}

/** `parseDockerfile` of the file at `file`. */
export function readDockerfile(file: string): DockerImage {
  return parseDockerfile(readFileSync(file, 'utf8'), file);
}
