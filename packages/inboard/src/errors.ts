// Errors of the `inboard` entry point, with stable codes like every Inboard error.
import { InboardError } from '@inboard/xds';

/** Inboard.start found no control plane to talk to (no option, no bootstrap, no INBOARD_CONTROL_PLANE). */
export class NoControlPlaneError extends InboardError {
  constructor() {
    super(
      'INBOARD_NO_CONTROL_PLANE',
      'Inboard.start: no control plane configured. Set GRPC_XDS_BOOTSTRAP (istio-agent writes it), ' +
        'INBOARD_CONTROL_PLANE=host:port (the embedded control plane: `npx inboard control-plane --config DIR`), ' +
        'or pass { controlPlane }, { istiod } or { bootstrap }',
    );
  }
}

/** An option of Inboard.start or of the gateway is invalid. */
export class InboardOptionError extends InboardError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('INBOARD_OPTION_INVALID', `${option}: ${message}`);
    this.option = option;
  }
}
