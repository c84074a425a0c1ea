import { DwError, type FieldError } from '../errors/index.ts';

export class NotifyInvalidError extends DwError {
  constructor(errors: FieldError[]) {
    super('DW_NOTIFY_INVALID', errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join('; '), { status: 400, details: errors });
  }
}

export class NotifyConflictError extends DwError {
  constructor(tenant: string, expected: number, current: number) {
    super('DW_NOTIFY_CONFLICT', `the notification policy of tenant "${tenant}" is at version ${current}, not ${expected}: another change came first; re-read it and retry`, { status: 409 });
  }
}
