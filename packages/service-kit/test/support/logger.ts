/** A pino logger whose lines land, parsed, in `lines` (tests look at what was logged). */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export function capturingLogger(): { readonly logger: Logger; readonly lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}
