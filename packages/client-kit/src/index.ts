/**
 * @warden/client-kit: what an SDK may carry (its only dependency is @opentelemetry/api) and
 * the services share with it. @warden/service-kit re-exports all of it.
 */
export { createBackoff, delay, type Backoff, type BackoffOptions } from './backoff.js';
export { deadline } from './deadline.js';
export { createInstruments } from './instruments.js';
