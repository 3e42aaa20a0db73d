#!/usr/bin/env node
/**
 * `warden-witness`: keygen, vkey, serve (the default). Flags win over the WITNESS_* environment
 * variables (for containers). Logs are JSON lines on stderr; `serve` prints
 * `listening on http://<host>:<port>` on stdout once it accepts requests.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { Command, Option } from 'commander';
import { createCosignatureVerifier, createCosigner, formatCosignatureVerifierKey, generateSigningKey, parsePrivateKey, privateKeyToPem } from '@warden/audit-events';
import { WitnessState } from './state.js';
import { Witness } from './witness.js';
import { createWitnessServer } from './server.js';
import { parseLogLine } from './logs.js';

const env = process.env;
const log = (fields: Record<string, unknown>, message: string) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg: message, ...fields })}\n`);

function vkeyOf(name: string, keyFile: string): string {
  const key = parsePrivateKey(readFileSync(keyFile, 'utf8'));
  return formatCosignatureVerifierKey(createCosignatureVerifier(name, createPublicKey(key)));
}

const program = new Command('warden-witness').description('A transparency-log witness: cosigns checkpoints of the logs it follows (C2SP tlog-witness, tlog-cosignature)');
const nameOption = () => new Option('--name <name>', 'the cosigner name, a schema-less URL such as witness.example.com/w1 (WITNESS_NAME)').default(env.WITNESS_NAME);
const keyOption = () => new Option('--key-file <path>', 'the Ed25519 private key, PKCS#8 PEM (WITNESS_KEY_FILE)').default(env.WITNESS_KEY_FILE);

program
  .command('keygen')
  .description('create a new witness key and print its verifier key')
  .addOption(nameOption())
  .addOption(keyOption())
  .action((o: { name?: string; keyFile?: string }) => {
    if (o.name === undefined || o.keyFile === undefined) throw new Error('keygen needs --name and --key-file');
    if (existsSync(o.keyFile)) throw new Error(`${o.keyFile} exists; refusing to overwrite a witness key`);
    writeFileSync(o.keyFile, privateKeyToPem(generateSigningKey().privateKey), { mode: 0o600, flag: 'wx' });
    process.stdout.write(`${vkeyOf(o.name, o.keyFile)}\n`);
  });

program
  .command('vkey')
  .description('print the verifier key (cosignature/v1, type 0x04) of a witness key')
  .addOption(nameOption())
  .addOption(keyOption())
  .action((o: { name?: string; keyFile?: string }) => {
    if (o.name === undefined || o.keyFile === undefined) throw new Error('vkey needs --name and --key-file');
    process.stdout.write(`${vkeyOf(o.name, o.keyFile)}\n`);
  });

program
  .command('serve', { isDefault: true })
  .description('serve POST /add-checkpoint and GET /<origin hash>/checkpoint (the default command)')
  .addOption(nameOption())
  .addOption(keyOption())
  .addOption(new Option('--state-dir <dir>', 'where the latest cosigned checkpoint of each log is kept (WITNESS_STATE_DIR)').default(env.WITNESS_STATE_DIR))
  .addOption(new Option('--listen <host:port>', 'address to listen on (WITNESS_LISTEN)').default(env.WITNESS_LISTEN ?? '127.0.0.1:7380'))
  .addOption(new Option('--prefix <path>', 'URL path prefix, e.g. /witness (WITNESS_PREFIX)').default(env.WITNESS_PREFIX ?? ''))
  .addOption(new Option('--create-key', 'create the key file when it does not exist (WITNESS_CREATE_KEY=true); its vkey is logged').default(env.WITNESS_CREATE_KEY === 'true'))
  .addOption(new Option('--log <"origin vkey">', 'a log to follow; repeat; origin may end in /* (WITNESS_LOGS: entries separated by commas or newlines)').argParser((v: string, all: string[] | undefined) => [...(all ?? []), v]))
  .action(async (o: { name?: string; keyFile?: string; stateDir?: string; listen: string; prefix: string; createKey: boolean; log?: string[] }) => {
    if (o.name === undefined || o.keyFile === undefined || o.stateDir === undefined) throw new Error('serve needs --name, --key-file and --state-dir');
    const entries = o.log ?? (env.WITNESS_LOGS ?? '').split(/[,\n]/).filter((e) => e.trim() !== '');
    if (entries.length === 0) throw new Error('serve needs at least one --log "<origin> <vkey>" (or WITNESS_LOGS)');
    if (o.prefix !== '' && !/^\/[^\s?#]*[^/]$/.test(o.prefix)) throw new Error('--prefix starts with / and does not end with /');
    const listen = /^(.+):(\d{1,5})$/.exec(o.listen);
    if (listen === null) throw new Error('--listen is <host>:<port>');
    if (o.createKey && !existsSync(o.keyFile)) {
      writeFileSync(o.keyFile, privateKeyToPem(generateSigningKey().privateKey), { mode: 0o600, flag: 'wx' });
      log({ keyFile: o.keyFile }, 'created a witness key');
    }
    const cosigner = createCosigner(o.name, parsePrivateKey(readFileSync(o.keyFile, 'utf8')));
    const state = new WitnessState(o.stateDir);
    const witness = new Witness({ cosigner, logs: entries.map(parseLogLine), state, log });
    const server = createWitnessServer({ witness, prefix: o.prefix, log });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(listen[2]), listen[1]!.replace(/^\[|\]$/g, ''), resolve);
    });
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : Number(listen[2]);
    log({ name: o.name, vkey: formatCosignatureVerifierKey(createCosignatureVerifier(o.name, createPublicKey(cosigner.privateKey))), logs: entries.length }, 'witness ready');
    process.stdout.write(`listening on http://${listen[1]}:${port}${o.prefix}\n`);
    const stop = () => {
      server.close(() => {
        state.close();
        process.exit(0);
      });
      server.closeAllConnections();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`warden-witness: ${(error as Error).message}\n`);
  process.exitCode = 2;
});
