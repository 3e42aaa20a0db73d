/** Who is calling: the authenticated principal of a gRPC or HTTP request. */

export type Caller =
  | {
      readonly kind: 'api_key';
      readonly subject: string;
      /** The key's organization: a key acts only on resources under org:<org>. */
      readonly org: string;
      readonly keyId: string;
    }
  | {
      readonly kind: 'jwt';
      readonly subject: string;
      readonly issuer: string;
    }
  | {
      /** A trusted local caller (sidecar mode, explicit opt-in): may check any subject. */
      readonly kind: 'trusted_local';
      readonly subject: 'service:local';
    };

export function describeCaller(caller: Caller): string {
  switch (caller.kind) {
    case 'api_key':
      return `${caller.subject} (API key ${caller.keyId})`;
    case 'jwt':
      return `${caller.subject} (token from ${caller.issuer})`;
    case 'trusted_local':
      return 'a trusted local caller';
  }
}
