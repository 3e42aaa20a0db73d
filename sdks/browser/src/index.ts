export { createWardenClient } from './client.js';
export type { Question, Resource, Subject, WardenClient, WardenClientOptions } from './client.js';
export { WardenAuthError, WardenError, WardenRequestError, WardenUnavailableError } from './errors.js';
