/** The logging the use cases need (pino fits); the core never imports a logger. */
export type AuditLogLogger = {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
};

export const silentLogger: AuditLogLogger = { info() {}, warn() {}, error() {} };
