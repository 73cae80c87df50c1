// Errors of the embedded control plane, with stable codes like the rest of Inboard.
import { InboardError } from '@inboard/xds';

/** A snapshot could not be built (a resource without a name, a duplicate name...). */
export class SnapshotError extends InboardError {
  readonly typeUrl: string;
  constructor(typeUrl: string, message: string) {
    super('INBOARD_CP_SNAPSHOT_INVALID', message);
    this.typeUrl = typeUrl;
  }
}

/** The ADS server was used in the wrong state (started twice, restarted before it ever started...) or could not bind. */
export class AdsServerError extends InboardError {
  constructor(code: 'INBOARD_CP_SERVER_STATE' | 'INBOARD_CP_BIND', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
