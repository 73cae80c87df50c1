// The instrumentation scope of every meter and tracer this package creates.
export const TELEMETRY_SCOPE = '@inboard/telemetry';
export const TELEMETRY_VERSION = '0.1.0';
