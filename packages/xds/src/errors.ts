// Error classes with stable codes. Every error Inboard throws or reports has a `code`.

export class InboardError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One thing wrong with a bootstrap: `field` is a JSON path (or an env var / file location). */
export interface BootstrapProblem {
  readonly field: string;
  readonly message: string;
}

/**
 * A bootstrap file, inline bootstrap or start option is invalid. `field` is a JSON path.
 * `problems` lists everything found (at least one); `source`/`field` describe the first. With several
 * problems the message has one `<source>: <field>: <message>` line per problem.
 */
export class BootstrapError extends InboardError {
  readonly source: string;
  readonly field: string;
  readonly problems: readonly BootstrapProblem[];
  constructor(
    source: string,
    field: string,
    message: string,
    options?: { cause?: unknown; problems?: readonly BootstrapProblem[] },
  ) {
    super(
      'INBOARD_BOOTSTRAP_INVALID',
      `${source}: ${field}: ${message}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.source = source;
    this.field = field;
    const problems = options?.problems;
    this.problems = Object.freeze(problems !== undefined && problems.length > 0 ? [...problems] : [{ field, message }]);
    if (this.problems.length > 1) {
      this.message =
        `${source}: ${this.problems.length} problems\n` +
        this.problems.map((p) => `  ${source}: ${p.field}: ${p.message}`).join('\n');
    }
  }

  /** One error reporting every problem (which must not be empty). */
  static fromProblems(source: string, problems: readonly BootstrapProblem[]): BootstrapError {
    const first = problems[0];
    if (first === undefined) throw new TypeError('BootstrapError.fromProblems needs at least one problem');
    return new BootstrapError(source, first.field, first.message, { problems });
  }
}

/** Credentials for the xDS server could not be built (unreadable or invalid CA, certificate or key file). */
export class XdsCredentialsError extends InboardError {
  readonly file: string | undefined;
  constructor(message: string, file?: string, options?: { cause?: unknown }) {
    super('INBOARD_XDS_CREDENTIALS', message, options);
    this.file = file;
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
    super(
      'INBOARD_XDS_RESOURCE_DOES_NOT_EXIST',
      `${shortType(typeUrl)} resource ${JSON.stringify(resourceName)} does not exist`,
    );
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
