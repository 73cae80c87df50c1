// The commands of a header value (decoded and checked by @inboard/xds) compiled into a function
// of the request, as Envoy's substitution formatter evaluates them for request_headers_to_add and
// response_headers_to_add. A command without a value gives '' (Envoy's header parser omits empty
// values; a header whose whole value ends up empty is then not added unless keep_empty_value).
//
// Outbound in-process there is no downstream connection: the "downstream" is this process. Its
// remote address is the workload's instance IP (INSTANCE_IPS, as Envoy sees the application's pod
// IP) with port 0; its local address is the destination the application addressed (the request's
// authority), where a sidecar sees the original destination. Upstream addresses are known once an
// endpoint answered, so in response headers only (Envoy evaluates request headers before it picks
// one). PROTOCOL is HTTP/1.1: undici's dispatch carries HTTP/1.1 semantics.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { HeaderFormatPart } from '@inboard/xds';
import type { HeaderRecord } from './header-mutation.ts';
import type { ClusterChoice, RouteEntry } from './route-table.ts';

/** What the commands read from a request (the outbound Exchange implements it). */
export interface HeaderFormatContext {
  readonly method: string;
  readonly authority: string;
  /** the path as the caller sent it, with its query */
  readonly path: string;
  readonly scheme: string;
  /** the request headers (REQ in response headers reads them) */
  readonly record: HeaderRecord;
  readonly entry: RouteEntry | undefined;
  readonly choice: ClusterChoice | undefined;
  /** the endpoint that answered, once there is one */
  readonly host: { readonly address: string; readonly port: number } | undefined;
  /** the response status (0 before a response) */
  readonly status: number;
  /**
   * The stream's start (epoch ms) for `%START_TIME%`: the same value in request and response
   * headers. Taken on first read, so requests whose routes do not use it pay nothing.
   */
  readonly startTime: number;
}

/** Per-process facts the commands need, fixed when the route table is compiled. */
export interface HeaderFormatEnvironment {
  /** this workload's IP: the downstream remote address of an in-process request */
  readonly localAddress: string;
}

/**
 * A header value of one request. `headers` are the headers being mutated (request or response);
 * `ctx` is undefined where no request is at hand, and every command then gives ''.
 */
export type HeaderValueFormatter = (headers: HeaderRecord, ctx: HeaderFormatContext | undefined) => string;

type Piece = HeaderValueFormatter;

function first(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : v?.[0];
}

function withPort(ip: string, port: number | string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** host and port of an authority (the scheme's default port when it has none) */
function splitAuthority(authority: string, scheme: string): [string, string] {
  const close = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  if (colon > close) return [authority.slice(0, colon), authority.slice(colon + 1)];
  return [authority, scheme === 'https' ? '443' : '80'];
}

function truncate(v: string, max: number | undefined): string {
  return max === undefined || v.length <= max ? v : v.slice(0, max);
}

/** Reads REQ / RESP headers: the pseudo headers of the request from its fields, `host` as :authority. */
function headerPiece(
  names: readonly string[],
  max: number | undefined,
  read: (name: string, headers: HeaderRecord, ctx: HeaderFormatContext) => string | undefined,
): Piece {
  return (headers, ctx) => {
    if (ctx === undefined) return '';
    for (const name of names) {
      const v = read(name, headers, ctx);
      if (v !== undefined) return truncate(v, max);
    }
    return '';
  };
}

function requestHeader(name: string, headers: HeaderRecord, ctx: HeaderFormatContext): string | undefined {
  switch (name) {
    case ':authority':
    case 'host':
      return ctx.authority;
    case ':path':
      return ctx.path;
    case ':method':
      return ctx.method;
    case ':scheme':
      return ctx.scheme;
    default:
      return first(headers[name]);
  }
}

function compilePart(
  part: Exclude<HeaderFormatPart, string>,
  response: boolean,
  env: HeaderFormatEnvironment,
): Piece | string {
  const { command, subcommand, maxLength } = part;
  const names = () =>
    subcommand
      .split('?')
      .filter((n, i) => i === 0 || n !== '')
      .map((n) => n.toLowerCase());
  const downstreamIp = env.localAddress;
  switch (command) {
    case 'REQ':
      return headerPiece(names(), maxLength, (name, headers, ctx) =>
        requestHeader(name, response ? ctx.record : headers, ctx),
      );
    case 'RESP':
      if (!response) return '';
      return headerPiece(names(), maxLength, (name, headers, ctx) =>
        name === ':status' ? String(ctx.status) : first(headers[name]),
      );
    case 'TRAILER':
      // the response trailers have not arrived when its headers are mutated
      return '';
    case 'START_TIME':
      return startTimeFormatter(subcommand);
    case 'ENVIRONMENT':
      // read once, as Envoy does at configuration time; unset is Envoy's "-"
      return truncate(process.env[subcommand] ?? '-', maxLength);
    case 'HOSTNAME':
      return hostname();
    case 'PROTOCOL':
      return 'HTTP/1.1';
    case 'DOWNSTREAM_REMOTE_ADDRESS':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS':
      return withPort(downstreamIp, 0);
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT':
      return downstreamIp;
    case 'DOWNSTREAM_REMOTE_PORT':
    case 'DOWNSTREAM_DIRECT_REMOTE_PORT':
      return '0';
    case 'DOWNSTREAM_LOCAL_ADDRESS':
    case 'DOWNSTREAM_DIRECT_LOCAL_ADDRESS':
      return (_h, ctx) => {
        if (ctx === undefined) return '';
        const [host, port] = splitAuthority(ctx.authority, ctx.scheme);
        return `${host}:${port}`;
      };
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT':
    case 'DOWNSTREAM_DIRECT_LOCAL_ADDRESS_WITHOUT_PORT':
      return (_h, ctx) => (ctx === undefined ? '' : splitAuthority(ctx.authority, ctx.scheme)[0]);
    case 'DOWNSTREAM_LOCAL_PORT':
    case 'DOWNSTREAM_DIRECT_LOCAL_PORT':
      return (_h, ctx) => (ctx === undefined ? '' : splitAuthority(ctx.authority, ctx.scheme)[1]);
    case 'UPSTREAM_HOST':
    case 'UPSTREAM_REMOTE_ADDRESS':
      return (_h, ctx) => {
        const host = response ? ctx?.host : undefined;
        return host === undefined ? '' : withPort(host.address, host.port);
      };
    case 'UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
      return (_h, ctx) => (response ? (ctx?.host?.address ?? '') : '');
    case 'UPSTREAM_REMOTE_PORT':
      return (_h, ctx) => {
        const host = response ? ctx?.host : undefined;
        return host === undefined ? '' : String(host.port);
      };
    case 'UPSTREAM_CLUSTER':
    case 'UPSTREAM_CLUSTER_RAW':
      return (_h, ctx) => ctx?.choice?.name ?? '';
    case 'ROUTE_NAME':
      return (_h, ctx) => ctx?.entry?.route.name ?? '';
    case 'RESPONSE_CODE':
      return (_h, ctx) => (ctx === undefined ? '' : String(response ? ctx.status : 0));
    case 'REQUESTED_SERVER_NAME':
      // no downstream TLS handshake in-process
      return '';
    case 'UNIQUE_ID':
      return () => randomUUID();
    default:
      // @inboard/xds only lets the commands above through
      return '';
  }
}

/** The parts compiled for one direction (`response`: response_headers_to_add). */
export function compileHeaderFormat(
  parts: readonly HeaderFormatPart[],
  response: boolean,
  env: HeaderFormatEnvironment,
): HeaderValueFormatter {
  // adjacent constants are merged, so a value is a list of pieces and strings
  const pieces: (Piece | string)[] = [];
  for (const part of parts) {
    const p = typeof part === 'string' ? part : compilePart(part, response, env);
    const last = pieces.length - 1;
    if (typeof p === 'string' && last >= 0 && typeof pieces[last] === 'string') pieces[last] += p;
    else pieces.push(p);
  }
  if (pieces.length === 1) {
    const only = pieces[0]!;
    return typeof only === 'string' ? () => only : only;
  }
  return (headers, ctx) => {
    let out = '';
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      out += typeof p === 'string' ? p : p(headers, ctx);
    }
    return out;
  };
}

// ---------------------------------------------------------------- START_TIME

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `digits` of the fractional second (the clock has milliseconds: the rest are zeros). */
function fraction(d: Date, digits: number): string {
  return pad(d.getUTCMilliseconds(), 3).padEnd(9, '0').slice(0, digits);
}

/**
 * START_TIME: the stream's start as UTC. Without a format, Envoy's default
 * (`%Y-%m-%dT%H:%M:%E3SZ`, what toISOString writes); otherwise the absl/strftime specifiers
 * that @inboard/xds accepted.
 */
function startTimeFormatter(format: string): Piece {
  const start = (ctx: HeaderFormatContext | undefined) => new Date(ctx === undefined ? Date.now() : ctx.startTime);
  if (format === '') return (_h, ctx) => start(ctx).toISOString();
  return (_h, ctx) => formatTime(start(ctx), format);
}

function formatTime(d: Date, format: string): string {
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const spec = format[++i]!;
    if (spec >= '1' && spec <= '9' && format[i + 1] === 'f') {
      out += fraction(d, Number(spec));
      i++;
      continue;
    }
    if (spec === 'E') {
      const n = format[++i]!;
      if (n === 'z') {
        out += '+00:00';
        continue;
      }
      i++; // the 'S'
      const secs = pad(d.getUTCSeconds());
      if (n === '*') {
        const ms = d.getUTCMilliseconds();
        out += ms === 0 ? secs : `${secs}.${pad(ms, 3).replace(/0+$/, '')}`;
      } else out += `${secs}.${fraction(d, Number(n))}`;
      continue;
    }
    const h = d.getUTCHours();
    switch (spec) {
      case 'Y':
        out += String(d.getUTCFullYear());
        break;
      case 'm':
        out += pad(d.getUTCMonth() + 1);
        break;
      case 'd':
        out += pad(d.getUTCDate());
        break;
      case 'e':
        out += String(d.getUTCDate()).padStart(2, ' ');
        break;
      case 'H':
        out += pad(h);
        break;
      case 'I':
        out += pad(h % 12 === 0 ? 12 : h % 12);
        break;
      case 'p':
        out += h < 12 ? 'AM' : 'PM';
        break;
      case 'M':
        out += pad(d.getUTCMinutes());
        break;
      case 'S':
        out += pad(d.getUTCSeconds());
        break;
      case 'y':
        out += pad(d.getUTCFullYear() % 100);
        break;
      case 'j': {
        const day = Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
        out += pad(day, 3);
        break;
      }
      case 'a':
        out += DAYS[d.getUTCDay()]!.slice(0, 3);
        break;
      case 'A':
        out += DAYS[d.getUTCDay()]!;
        break;
      case 'b':
        out += MONTHS[d.getUTCMonth()]!.slice(0, 3);
        break;
      case 'B':
        out += MONTHS[d.getUTCMonth()]!;
        break;
      case 'z':
        out += '+0000';
        break;
      case 'Z':
        out += 'UTC';
        break;
      case 's':
        out += String(Math.floor(d.getTime() / 1000));
        break;
      case 'f':
        out += fraction(d, 9);
        break;
      case 'T':
        out += `${pad(h)}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
        break;
      case 'R':
        out += `${pad(h)}:${pad(d.getUTCMinutes())}`;
        break;
      case 'D':
        out += `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCFullYear() % 100)}`;
        break;
      case 'F':
        out += `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
        break;
      default:
        out += spec; // '%%'
    }
  }
  return out;
}
