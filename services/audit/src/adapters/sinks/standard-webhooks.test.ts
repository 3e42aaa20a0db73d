import { describe, expect, it } from 'vitest';
import { parseWebhookSecret, signWebhook } from './standard-webhooks.js';

describe('Standard Webhooks signing', () => {
  it('matches the example of the specification (Svix, the spec authors, publish the same vector)', () => {
    const key = parseWebhookSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(signWebhook(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    // Any change of id, timestamp or body changes the signature.
    expect(signWebhook(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265331, '{"test": 2432232314}')).not.toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    expect(signWebhook(key, 'msg_other', 1614265330, '{"test": 2432232314}')).not.toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('refuses secrets that are not whsec_ + base64 of 24-64 bytes, without echoing them', () => {
    const secret = `whsec_${Buffer.alloc(16, 7).toString('base64')}`;
    expect(() => parseWebhookSecret(secret)).toThrow(/24 to 64 bytes \(has 16\)/);
    for (const bad of ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_not base64!', secret]) {
      try {
        parseWebhookSecret(bad);
        throw new Error('accepted');
      } catch (error) {
        expect((error as Error).message).not.toContain(bad.replace(/^whsec_/, ''));
      }
    }
  });
});
