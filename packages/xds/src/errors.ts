// Error classes with stable codes. Every error Inboard throws or reports has a `code`.

export class InboardError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A bootstrap file, inline bootstrap or start option is invalid. `field` is a JSON path. */
export class BootstrapError extends InboardError {
  readonly source: string;
  readonly field: string;
  constructor(source: string, field: string, message: string, options?: { cause?: unknown }) {
    super('INBOARD_BOOTSTRAP_INVALID', `${source}: ${field}: ${message}`, options);
    this.source = source;
    this.field = field;
  }
}

/** One or more resources of a response failed validation (what the NACK's error_detail says). */
export class ResourceValidationError extends InboardError {
  readonly typeUrl: string;
  readonly resourceName: string | undefined;
  constructor(typeUrl: string, resourceName: string | undefined, message: string) {
    super('INBOARD_XDS_RESOURCE_INVALID', message);
    this.typeUrl = typeUrl;
    this.resourceName = resourceName;
  }
}

/** The control plane said a watched resource does not exist (or did not send it in time). */
export class ResourceDoesNotExistError extends InboardError {
  readonly typeUrl: string;
  readonly resourceName: string;
  constructor(typeUrl: string, resourceName: string) {
    super('INBOARD_XDS_RESOURCE_DOES_NOT_EXIST', `${shortType(typeUrl)} resource ${JSON.stringify(resourceName)} does not exist`);
    this.typeUrl = typeUrl;
    this.resourceName = resourceName;
  }
}

/** The ADS stream failed (connection refused, stream reset, auth rejected...). */
export class XdsStreamError extends InboardError {
  readonly grpcCode: number | undefined;
  readonly server: string;
  constructor(server: string, message: string, grpcCode?: number, options?: { cause?: unknown }) {
    super('INBOARD_XDS_STREAM', `xDS stream to ${server}: ${message}`, options);
    this.server = server;
    this.grpcCode = grpcCode;
  }
}

export function shortType(typeUrl: string): string {
  const name = typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
  switch (name) {
    case 'Listener':
      return 'LDS';
    case 'RouteConfiguration':
      return 'RDS';
    case 'Cluster':
      return 'CDS';
    case 'ClusterLoadAssignment':
      return 'EDS';
    default:
      return name;
  }
}
