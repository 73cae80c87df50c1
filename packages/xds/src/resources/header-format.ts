// The value of a header to add, read as Envoy's header parser reads it: a substitution format
// string. `%%` is a literal `%`; every other `%` must open a `%COMMAND%`, `%COMMAND(SUBCOMMAND)%`
// or `%COMMAND(SUBCOMMAND):LENGTH%` (COMMAND: A-Z, 0-9, _; SUBCOMMAND without ')'), else Envoy
// rejects the configuration ("Couldn't find valid command"), as it does for a command it does not
// know. Here each command is checked once, at decode time, against Envoy's syntax rules for it;
// the commands Inboard cannot evaluate in-process are rejected with that reason rather than sent
// verbatim (Envoy would substitute them).
import type { HeaderFormatPart } from './model.ts';

// Envoy's CommandSyntaxChecker flags
const COMMAND_ONLY = 0;
const PARAMS_REQUIRED = 1;
const PARAMS_OPTIONAL = 2;
const LENGTH_ALLOWED = 4;

/** The commands Inboard evaluates, with Envoy's syntax flags for each. */
const SUPPORTED: ReadonlyMap<string, number> = new Map([
  ['REQ', PARAMS_REQUIRED | LENGTH_ALLOWED],
  ['RESP', PARAMS_REQUIRED | LENGTH_ALLOWED],
  ['TRAILER', PARAMS_REQUIRED | LENGTH_ALLOWED],
  ['START_TIME', PARAMS_OPTIONAL],
  ['ENVIRONMENT', PARAMS_REQUIRED | LENGTH_ALLOWED],
  ['HOSTNAME', COMMAND_ONLY],
  ['PROTOCOL', COMMAND_ONLY],
  ['DOWNSTREAM_REMOTE_ADDRESS', COMMAND_ONLY],
  ['DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT', COMMAND_ONLY],
  ['DOWNSTREAM_REMOTE_PORT', COMMAND_ONLY],
  ['DOWNSTREAM_DIRECT_REMOTE_ADDRESS', COMMAND_ONLY],
  ['DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT', COMMAND_ONLY],
  ['DOWNSTREAM_DIRECT_REMOTE_PORT', COMMAND_ONLY],
  ['DOWNSTREAM_LOCAL_ADDRESS', COMMAND_ONLY],
  ['DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT', COMMAND_ONLY],
  ['DOWNSTREAM_LOCAL_PORT', COMMAND_ONLY],
  ['DOWNSTREAM_DIRECT_LOCAL_ADDRESS', COMMAND_ONLY],
  ['DOWNSTREAM_DIRECT_LOCAL_ADDRESS_WITHOUT_PORT', COMMAND_ONLY],
  ['DOWNSTREAM_DIRECT_LOCAL_PORT', COMMAND_ONLY],
  ['UPSTREAM_HOST', COMMAND_ONLY],
  ['UPSTREAM_REMOTE_ADDRESS', COMMAND_ONLY],
  ['UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT', COMMAND_ONLY],
  ['UPSTREAM_REMOTE_PORT', COMMAND_ONLY],
  ['UPSTREAM_CLUSTER', COMMAND_ONLY],
  ['UPSTREAM_CLUSTER_RAW', COMMAND_ONLY],
  ['ROUTE_NAME', COMMAND_ONLY],
  ['RESPONSE_CODE', COMMAND_ONLY],
  ['REQUESTED_SERVER_NAME', COMMAND_ONLY],
  ['UNIQUE_ID', COMMAND_ONLY],
]);

/** Commands Envoy knows but Inboard does not evaluate: rejected with that reason. */
const NOT_SUPPORTED = new Set([
  'LOCAL_REPLY_BODY',
  'ACCESS_LOG_TYPE',
  'GRPC_STATUS',
  'GRPC_STATUS_NUMBER',
  'REQUEST_HEADERS_BYTES',
  'RESPONSE_HEADERS_BYTES',
  'RESPONSE_TRAILERS_BYTES',
  'TRACE_ID',
  'QUERY_PARAM',
  'PATH',
  'REQUEST_DURATION',
  'REQUEST_TX_DURATION',
  'RESPONSE_DURATION',
  'RESPONSE_TX_DURATION',
  'DOWNSTREAM_HANDSHAKE_DURATION',
  'ROUNDTRIP_DURATION',
  'BYTES_RECEIVED',
  'BYTES_RETRANSMITTED',
  'PACKETS_RETRANSMITTED',
  'UPSTREAM_WIRE_BYTES_RECEIVED',
  'UPSTREAM_HEADER_BYTES_RECEIVED',
  'UPSTREAM_DECOMPRESSED_HEADER_BYTES_RECEIVED',
  'DOWNSTREAM_WIRE_BYTES_RECEIVED',
  'DOWNSTREAM_HEADER_BYTES_RECEIVED',
  'DOWNSTREAM_DECOMPRESSED_HEADER_BYTES_RECEIVED',
  'UPSTREAM_PROTOCOL',
  'RESPONSE_CODE_DETAILS',
  'CONNECTION_TERMINATION_DETAILS',
  'BYTES_SENT',
  'UPSTREAM_WIRE_BYTES_SENT',
  'UPSTREAM_HEADER_BYTES_SENT',
  'UPSTREAM_DECOMPRESSED_HEADER_BYTES_SENT',
  'DOWNSTREAM_WIRE_BYTES_SENT',
  'DOWNSTREAM_HEADER_BYTES_SENT',
  'DOWNSTREAM_DECOMPRESSED_HEADER_BYTES_SENT',
  'DURATION',
  'COMMON_DURATION',
  'CUSTOM_FLAGS',
  'RESPONSE_FLAGS',
  'RESPONSE_FLAGS_LONG',
  'UPSTREAM_HOST_NAME',
  'UPSTREAM_HOST_NAME_WITHOUT_PORT',
  'UPSTREAM_CONNECTION_ID',
  'UPSTREAM_LOCAL_ADDRESS',
  'UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT',
  'UPSTREAM_LOCAL_PORT',
  'UPSTREAM_REQUEST_ATTEMPT_COUNT',
  'UPSTREAM_TLS_CIPHER',
  'UPSTREAM_TLS_VERSION',
  'UPSTREAM_TLS_SESSION_ID',
  'UPSTREAM_PEER_ISSUER',
  'UPSTREAM_PEER_CERT',
  'UPSTREAM_PEER_SUBJECT',
  'UPSTREAM_PEER_URI_SAN',
  'UPSTREAM_PEER_DNS_SAN',
  'UPSTREAM_PEER_IP_SAN',
  'UPSTREAM_LOCAL_URI_SAN',
  'UPSTREAM_LOCAL_DNS_SAN',
  'UPSTREAM_LOCAL_IP_SAN',
  'UPSTREAM_TRANSPORT_FAILURE_REASON',
  'CONNECTION_ID',
  'DOWNSTREAM_PEER_URI_SAN',
  'DOWNSTREAM_PEER_DNS_SAN',
  'DOWNSTREAM_PEER_IP_SAN',
  'DOWNSTREAM_PEER_EMAIL_SAN',
  'DOWNSTREAM_PEER_OTHERNAME_SAN',
  'DOWNSTREAM_LOCAL_URI_SAN',
  'DOWNSTREAM_LOCAL_DNS_SAN',
  'DOWNSTREAM_LOCAL_IP_SAN',
  'DOWNSTREAM_LOCAL_EMAIL_SAN',
  'DOWNSTREAM_LOCAL_OTHERNAME_SAN',
  'DOWNSTREAM_PEER_SUBJECT',
  'DOWNSTREAM_LOCAL_SUBJECT',
  'DOWNSTREAM_TLS_SESSION_ID',
  'DOWNSTREAM_TLS_CIPHER',
  'DOWNSTREAM_TLS_VERSION',
  'DOWNSTREAM_PEER_FINGERPRINT_256',
  'DOWNSTREAM_PEER_FINGERPRINT_1',
  'DOWNSTREAM_PEER_SERIAL',
  'DOWNSTREAM_PEER_CHAIN_FINGERPRINTS_256',
  'DOWNSTREAM_PEER_CHAIN_FINGERPRINTS_1',
  'DOWNSTREAM_PEER_CHAIN_SERIALS',
  'DOWNSTREAM_PEER_ISSUER',
  'DOWNSTREAM_PEER_CERT',
  'DOWNSTREAM_PEER_CERT_V_START',
  'DOWNSTREAM_PEER_CERT_V_END',
  'UPSTREAM_PEER_CERT_V_START',
  'UPSTREAM_PEER_CERT_V_END',
  'DOWNSTREAM_TRANSPORT_FAILURE_REASON',
  'FILTER_CHAIN_NAME',
  'VIRTUAL_CLUSTER_NAME',
  'TLS_JA3_FINGERPRINT',
  'TLS_JA4_FINGERPRINT',
  'STREAM_ID',
  'START_TIME_LOCAL',
  'EMIT_TIME',
  'EMIT_TIME_LOCAL',
  'DYNAMIC_METADATA',
  'CLUSTER_METADATA',
  'UPSTREAM_METADATA',
  'FILTER_STATE',
  'UPSTREAM_FILTER_STATE',
  'PER_REQUEST_STATE',
  'UPSTREAM_CONNECTION_POOL_READY_DURATION',
]);

/**
 * The strftime specifiers START_TIME(...) may use here (absl::FormatTime's, in UTC, plus Envoy's
 * %f / %1f..%9f fractional seconds): the letter after `%`, or `E#S`, `Ez`, `Nf` forms.
 */
const TIME_SPECIFIER = /%(?:[YmdHMSyjeaAbBpIzZsTDFR%]|[1-9]?f|E[1-9*]S|Ez)/y;

// Envoy's command pattern: `%COMMAND(SUBCOMMAND):LENGTH%`, anchored where the `%` is.
const COMMAND = /%([A-Z0-9_]+)(?:\(([^)]*)\))?(?::([0-9]+))?%/y;

/** The parts of `value`, or undefined when it is constant; throws Error naming the problem. */
export function parseHeaderFormat(value: string): readonly HeaderFormatPart[] | undefined {
  if (!value.includes('%')) return undefined;
  const parts: HeaderFormatPart[] = [];
  let text = '';
  let hasCommand = false;
  for (let pos = 0; pos < value.length; pos++) {
    const c = value[pos]!;
    if (c !== '%') {
      text += c;
      continue;
    }
    if (value[pos + 1] === '%') {
      text += '%';
      pos++;
      continue;
    }
    COMMAND.lastIndex = pos;
    const m = COMMAND.exec(value);
    if (m === null) {
      throw new Error(
        `no valid %COMMAND% at position ${pos} (a literal '%' is written '%%'; Envoy rejects this value)`,
      );
    }
    const command = m[1]!;
    const subcommand = m[2] ?? '';
    const maxLength = m[3] === undefined ? undefined : Number(m[3]);
    checkCommand(command, subcommand, maxLength);
    if (text !== '') parts.push(text);
    text = '';
    parts.push({ command, subcommand, maxLength });
    hasCommand = true;
    pos += m[0].length - 1;
  }
  if (!hasCommand) return undefined;
  if (text !== '') parts.push(text);
  return parts;
}

function checkCommand(command: string, subcommand: string, maxLength: number | undefined): void {
  const flags = SUPPORTED.get(command);
  if (flags === undefined) {
    if (NOT_SUPPORTED.has(command)) throw new Error(`%${command}% is not supported by Inboard`);
    throw new Error(`%${command}% is not a known command (Envoy: not supported field in StreamInfo)`);
  }
  // Envoy's CommandSyntaxChecker
  if (flags === COMMAND_ONLY && (subcommand !== '' || maxLength !== undefined))
    throw new Error(`%${command}% does not take any parameters or length`);
  if ((flags & PARAMS_REQUIRED) !== 0 && subcommand === '') throw new Error(`%${command}% requires parameters`);
  if ((flags & LENGTH_ALLOWED) === 0 && maxLength !== undefined)
    throw new Error(`%${command}% does not allow length to be specified`);
  if (command === 'REQ' || command === 'RESP' || command === 'TRAILER') {
    if (subcommand.split('?').length > 2)
      throw new Error(`more than 1 alternative header specified in token: ${subcommand}`);
  } else if (command === 'START_TIME') {
    checkTimeFormat(subcommand);
  }
}

function checkTimeFormat(format: string): void {
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') continue;
    TIME_SPECIFIER.lastIndex = i;
    const m = TIME_SPECIFIER.exec(format);
    if (m === null) {
      const spec = format.slice(i, i + 2);
      if (spec === '%n') throw new Error('Invalid header configuration. Format string contains newline.');
      throw new Error(`START_TIME: the time specifier ${JSON.stringify(spec)} is not supported by Inboard`);
    }
    i += m[0].length - 1;
  }
}
