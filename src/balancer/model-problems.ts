// The problems one Service's build collects, passed to every builder. An
// error keeps the Service's last good load balancer (a new Service gets
// none); a warning is shown and the rest applies.

import type { Service } from '../objects/index.ts';
import type { ServiceProblem } from '../status/index.ts';

export class Problems {
  readonly list: ServiceProblem[] = [];
  private readonly who: string;
  constructor(svc: Service) {
    this.who = `Service ${svc.metadata.namespace}/${svc.metadata.name}`;
  }
  error(field: string, message: string): void {
    this.list.push({ severity: 'error', field, message: `${this.who}: ${describeField(field)}${message}` });
  }
  warn(field: string, message: string): void {
    this.list.push({ severity: 'warning', field, message: `${this.who}: ${describeField(field)}${message}` });
  }
  /** A warning that still holds back an edit that would change a serving
   *  listener's protocol; a new Service is built without the bad part. */
  warnHoldingEdits(field: string, message: string): void {
    this.warn(field, message);
    this.holdsEdits = true;
  }
  holdsEdits = false;
  get hasErrors(): boolean {
    return this.list.some((p) => p.severity === 'error');
  }
}

function describeField(field: string): string {
  return field.startsWith('spec.') ? `${field}: ` : `annotation ${field}: `;
}
