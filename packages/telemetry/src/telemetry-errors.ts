// Errors of @inboard/telemetry's configuration.
import { InboardError } from '@inboard/xds';

/** An option of installMeshTelemetry (or the SDK helper) that cannot work as given; `option` names it. */
export class TelemetryOptionsError extends InboardError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('TELEMETRY_OPTIONS', `${option}: ${message}`);
    this.option = option;
  }
}
