import { DwError, NotFoundError } from '../errors/index.ts';
import type { IncidentStatus } from './types.ts';

export class IncidentNotFoundError extends NotFoundError {
  readonly incidentId: string;
  constructor(incidentId: string) {
    super(`incident "${incidentId}"`, 'DW_INCIDENT_NOT_FOUND');
    this.incidentId = incidentId;
  }
}

/** A lifecycle change the incident's status does not allow (acknowledging a resolved incident, any change to a merged one). */
export class IncidentTransitionError extends DwError {
  constructor(incidentId: string, from: IncidentStatus, action: string) {
    super('DW_INCIDENT_BAD_TRANSITION', `cannot ${action} incident "${incidentId}": it is ${from}`, { status: 409 });
  }
}
