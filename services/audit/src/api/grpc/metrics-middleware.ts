/**
 * Append metrics, as a nice-grpc server middleware (cross-cutting, beside the
 * handlers): the call's duration, its batch size, and each event's result
 * (`warden.audit.append.*`, see instruments.ts). Other methods pass through.
 */
import { Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc';
import { AppendStatus, AuditServiceDefinition, refusalReasonToJSON, type AppendRequest, type AppendResponse } from '@warden/proto/audit/v1';
import type { Attributes } from '@opentelemetry/api';
import { instruments } from '../../instruments.js';

const APPEND_PATH = `/${AuditServiceDefinition.fullName}/${AuditServiceDefinition.methods.append.name}`;

function resultAttributes(result: AppendResponse['results'][number]): Attributes {
  switch (result.status) {
    case AppendStatus.APPEND_STATUS_ACCEPTED:
      return { 'warden.result': 'accepted' };
    case AppendStatus.APPEND_STATUS_DUPLICATE:
      return { 'warden.result': 'duplicate' };
    default:
      return {
        'warden.result': 'refused',
        // A bounded set: `bad_signature`, `unknown_producer`, `conflict`…
        'warden.reason': refusalReasonToJSON(result.error?.reason ?? 0).replace(/^REFUSAL_REASON_/, '').toLowerCase(),
      };
  }
}

function errorType(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? (error as { code: unknown }).code : undefined;
  // nice-grpc's ServerError has a gRPC status code (by name: UNAVAILABLE…); other errors a name.
  if (typeof code === 'number') return Status[code] ?? String(code);
  return error instanceof Error ? error.name : 'unknown';
}

export function metricsMiddleware() {
  return async function* metrics<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ): AsyncGenerator<Response, Response | void, undefined> {
    if (call.method.path !== APPEND_PATH || call.requestStream) return yield* call.next(call.request, context);
    const started = performance.now();
    const { appendDuration, batchSize, appendedEvents } = instruments();
    batchSize.record((call.request as AppendRequest).events.length);
    try {
      const response = yield* call.next(call.request, context);
      appendDuration.record((performance.now() - started) / 1000);
      for (const result of (response as AppendResponse | undefined)?.results ?? []) appendedEvents.add(1, resultAttributes(result));
      return response;
    } catch (error) {
      // `error.type` (OpenTelemetry): the gRPC status code or the domain error's name.
      appendDuration.record((performance.now() - started) / 1000, { 'error.type': errorType(error) });
      throw error;
    }
  };
}
