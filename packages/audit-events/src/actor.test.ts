import { describe, expect, it } from 'vitest';
import { actorFromSubject } from './actor.js';

describe('actorFromSubject', () => {
  it('splits a user, service or group subject at its first colon', () => {
    expect(actorFromSubject('user:sarah@acme.com')).toEqual({ type: 'user', id: 'sarah@acme.com' });
    expect(actorFromSubject('service:deployer')).toEqual({ type: 'service', id: 'deployer' });
    expect(actorFromSubject('group:sre:oncall')).toEqual({ type: 'group', id: 'sre:oncall' });
  });

  it('refuses anything else, naming it', () => {
    expect(() => actorFromSubject('system:cron')).toThrow('the actor "system:cron" is not a user, service or group');
    expect(() => actorFromSubject('sarah')).toThrow(/is not a user, service or group/);
  });

  it("records Warden's own components as the service account warden.<component> when asked", () => {
    const components = { wardenComponents: true };
    expect(actorFromSubject('system:world-file', components)).toEqual({ type: 'service', id: 'warden.world-file' });
    expect(actorFromSubject('bootstrap', components)).toEqual({ type: 'service', id: 'warden.bootstrap' });
    expect(actorFromSubject('user:adam@acme.com', components)).toEqual({ type: 'user', id: 'adam@acme.com' });
    // Idempotent on what it made (the relay maps outbox rows the writer already mapped).
    expect(actorFromSubject('service:warden.world-file', components)).toEqual({ type: 'service', id: 'warden.world-file' });
  });
});
