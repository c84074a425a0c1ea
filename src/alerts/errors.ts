import { DwError, NotFoundError } from '../errors/index.ts';
import type { AlertStatus } from './types.ts';

export class AlertNotFoundError extends NotFoundError {
  readonly alertId: string;
  constructor(alertId: string) {
    super(`alert "${alertId}"`, 'DW_ALERT_NOT_FOUND');
    this.alertId = alertId;
  }
}

/** A lifecycle change the alert's current status does not allow (e.g. acknowledging a resolved alert). */
export class AlertTransitionError extends DwError {
  readonly alertId: string;
  readonly from: AlertStatus;
  readonly action: string;
  constructor(alertId: string, from: AlertStatus, action: string) {
    super('DW_ALERT_BAD_TRANSITION', `cannot ${action} alert "${alertId}": it is ${from}`, { status: 409 });
    this.alertId = alertId;
    this.from = from;
    this.action = action;
  }
}
