/** @warden/witness: the `warden-witness` command's parts, for tests and embedding. */
export { Witness, type TrustedLog, type WitnessOptions, type WitnessResponse } from './witness.js';
export { WitnessState, type LogState } from './state.js';
export { createWitnessServer, type WitnessServerOptions } from './server.js';
export { parseLogLine } from './logs.js';
