/** What both framework adapters share: mapping a request to a check, and the answer when it is refused. */
import type { CheckInput, Warden } from '../client.js';
import type { Decision } from '../decision.js';
import { WardenUnavailableError } from '../errors.js';

/** Maps a request to the check that guards it; `undefined` lets the request through unchecked. */
export type RequestMapper<Request> = (request: Request) => CheckInput | undefined | Promise<CheckInput | undefined>;

export interface GuardOptions {
  /**
   * Include Warden's reason (code and message) in the 403 body.
   * @defaultValue true
   */
  readonly exposeReason?: boolean | undefined;
}

export type GuardOutcome =
  | { readonly allowed: true; readonly decision: Decision | undefined }
  | { readonly allowed: false; readonly status: 403 | 503; readonly body: Record<string, unknown> };

export async function guard<Request>(warden: Warden, map: RequestMapper<Request>, request: Request, options: GuardOptions): Promise<GuardOutcome> {
  const input = await map(request);
  if (input === undefined) return { allowed: true, decision: undefined };
  let decision: Decision;
  try {
    decision = await warden.check(input);
  } catch (error) {
    // Could not decide: fail closed.
    const status = 503;
    return { allowed: false, status, body: { error: 'authorization_unavailable', message: error instanceof WardenUnavailableError ? 'the authorization service cannot answer now' : 'the request could not be authorized' } };
  }
  if (decision.allowed) return { allowed: true, decision };
  return {
    allowed: false,
    status: 403,
    body: {
      error: decision.decision === 'REQUIRES_APPROVAL' ? 'approval_required' : 'forbidden',
      decision: decision.decision,
      ...(options.exposeReason === false ? {} : { reason: { code: decision.reason.code, message: decision.reason.message } }),
    },
  };
}
