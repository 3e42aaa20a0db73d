/** JSON schemas (fastify/ajv) of the AuthZEN 1.0 requests: shapes and types; Warden's name rules come after. */

const properties = { type: 'object' } as const;
const entity = {
  type: 'object',
  required: ['type', 'id'],
  properties: { type: { type: 'string', minLength: 1 }, id: { type: 'string', minLength: 1 }, properties },
} as const;
const entityTypeOnly = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string', minLength: 1 }, id: { type: 'string' }, properties },
} as const;
const action = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 }, properties } } as const;
const context = { type: 'object' } as const;
const page = {
  type: 'object',
  properties: { token: { type: 'string' }, limit: { type: 'integer', minimum: 0 }, properties },
} as const;

export const evaluationSchema = {
  type: 'object',
  required: ['subject', 'action', 'resource'],
  properties: { subject: entity, action, resource: entity, context },
} as const;

export const evaluationsSchema = {
  type: 'object',
  properties: {
    subject: entity,
    action,
    resource: entity,
    context,
    evaluations: {
      type: 'array',
      maxItems: 1000,
      // Items are checked one by one (api/http/authzen.ts): a malformed item is that item's error.
      items: { type: 'object' },
    },
    options: {
      type: 'object',
      properties: { evaluations_semantic: { type: 'string', enum: ['execute_all', 'deny_on_first_deny', 'permit_on_first_permit'] } },
    },
  },
} as const;

export const searchSubjectSchema = {
  type: 'object',
  required: ['subject', 'action', 'resource'],
  properties: { subject: entityTypeOnly, action, resource: entity, context, page },
} as const;

export const searchResourceSchema = {
  type: 'object',
  required: ['subject', 'action', 'resource'],
  properties: { subject: entity, action, resource: entityTypeOnly, context, page },
} as const;

export const searchActionSchema = {
  type: 'object',
  required: ['subject', 'resource'],
  properties: { subject: entity, resource: entity, context, page },
} as const;
