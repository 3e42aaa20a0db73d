/**
 * express glue: middleware that checks each request with Warden and answers 403
 * with the reason (503 when Warden cannot answer). The decision is on `res.locals.warden`.
 *
 *   app.post('/flags/:id/enable', wardenMiddleware(warden, (req) => ({ … })), handler);
 */
import type { NextFunction, Request, Response } from 'express';
import type { Warden } from '../client.js';
import { guard, type GuardOptions, type RequestMapper } from './shared.js';

export function wardenMiddleware(warden: Warden, map: RequestMapper<Request>, options: GuardOptions = {}) {
  return function wardenGuard(request: Request, response: Response, next: NextFunction): void {
    guard(warden, map, request, options).then(
      (outcome) => {
        if (outcome.allowed) {
          response.locals['warden'] = outcome.decision;
          next();
          return;
        }
        response.status(outcome.status).json(outcome.body);
      },
      (error: unknown) => next(error),
    );
  };
}

export type { RequestMapper, GuardOptions };
