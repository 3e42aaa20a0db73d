/** Validating check requests: every name, and the size of every attribute bag. */
import type { ValidCheck } from './engine.js';
import { InvalidArgumentError } from '@warden/errors';
import type { Attributes, CheckInput } from './model.js';
import { parseAction, parseResource, parseSubject } from '@warden/names';

export const MAX_ATTRIBUTES_BYTES = 16 * 1024;
export const MAX_BATCH = 1000;

function checkAttributes(value: Attributes | undefined, field: string): Attributes | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(field, 'must be an object');
  }
  const size = Buffer.byteLength(JSON.stringify(value));
  if (size > MAX_ATTRIBUTES_BYTES) {
    throw new InvalidArgumentError(field, `is ${size} bytes as JSON; at most ${MAX_ATTRIBUTES_BYTES} are allowed`);
  }
  return value;
}

export function validateCheck(input: CheckInput): ValidCheck {
  parseSubject(input.subject, 'subject');
  return {
    subject: input.subject,
    action: parseAction(input.action, 'action'),
    resource: parseResource(input.resource, 'resource'),
    context: checkAttributes(input.context, 'context'),
    resourceAttributes: checkAttributes(input.resourceAttributes, 'resource_attributes'),
    subjectAttributes: checkAttributes(input.subjectAttributes, 'subject_attributes'),
    actionAttributes: checkAttributes(input.actionAttributes, 'action_attributes'),
  };
}

export function validateBatch(inputs: readonly CheckInput[]): ValidCheck[] {
  if (inputs.length === 0) throw new InvalidArgumentError('checks', 'must hold at least one check');
  if (inputs.length > MAX_BATCH) {
    throw new InvalidArgumentError('checks', `holds ${inputs.length} checks; at most ${MAX_BATCH} are allowed`);
  }
  return inputs.map((input, index) => {
    try {
      return validateCheck(input);
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw error.under(`checks[${index}]`);
      throw error;
    }
  });
}
