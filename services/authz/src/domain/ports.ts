/** What the core needs from the outside world. Adapters in stores/ implement these. */
import type { GrantView } from './engine.js';
import type { ResourcePath } from './names.js';

export interface ViewRequest {
  readonly subject: string;
  readonly resource: ResourcePath;
}

export interface GrantSource {
  /**
   * One consistent view of the grant graph covering every (subject, resource)
   * asked for, at the newest revision this source has.
   */
  view(requests: readonly ViewRequest[], signal?: AbortSignal): Promise<GrantView>;
}
