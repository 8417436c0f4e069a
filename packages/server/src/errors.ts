import { ERROR_CODES, type ErrorCode } from '@webka/protocol';

/**
 * The error every layer of the broker throws for a failure a client should hear about. The HTTP
 * layer turns it into `{ "error": { code, message, ...details } }` with the code's status.
 */
export class WebkaError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'WebkaError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}
