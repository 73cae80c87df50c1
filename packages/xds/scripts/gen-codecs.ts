// Build step: compiles the Envoy/xDS .proto files we speak into TypeScript codecs
// (src/gen/envoy.ts), so that nothing parses .proto files at run time.
//
// Input protos come from the @grpc/grpc-js-xds dev dependency (its deps/ tree).
// Output, per message reachable from ROOTS:
//   interface <Name>      decoded shape: scalars and repeated fields always present
//   interface <Name>$In   encoder input: every field optional
//   decode<Name>(r, end)  / encode<Name>(m, w)
// plus an enum value→name table per enum, and MESSAGES: full proto name → codec for the roots.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const pb = require('protobufjs') as typeof import('protobufjs');

const here = dirname(fileURLToPath(import.meta.url));
const xdsDeps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const includeDirs = [
  join(xdsDeps, 'envoy-api'),
  join(xdsDeps, 'xds'),
  join(xdsDeps, 'googleapis'),
  join(xdsDeps, 'protoc-gen-validate'),
  dirname(require.resolve('protobufjs/package.json')),
];

const FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  'envoy/extensions/path/match/uri_template/v3/uri_template_match.proto',
  'xds/type/v3/typed_struct.proto',
  'udpa/type/v1/typed_struct.proto',
  'google/protobuf/wrappers.proto',
  'google/protobuf/struct.proto',
  'google/rpc/status.proto',
];

/** Messages we decode or encode by name; everything they reach is generated too. */
const ROOTS = [
  'envoy.service.discovery.v3.DiscoveryRequest',
  'envoy.service.discovery.v3.DiscoveryResponse',
  'envoy.service.discovery.v3.DeltaDiscoveryRequest',
  'envoy.service.discovery.v3.DeltaDiscoveryResponse',
  'envoy.config.listener.v3.Listener',
  'envoy.config.route.v3.RouteConfiguration',
  'envoy.config.cluster.v3.Cluster',
  'envoy.config.endpoint.v3.ClusterLoadAssignment',
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  'envoy.extensions.filters.http.router.v3.Router',
  'envoy.extensions.filters.http.fault.v3.HTTPFault',
  'envoy.extensions.filters.http.rbac.v3.RBAC',
  'envoy.extensions.filters.http.rbac.v3.RBACPerRoute',
  'envoy.extensions.filters.http.cors.v3.Cors',
  'envoy.extensions.filters.http.cors.v3.CorsPolicy',
  'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  'envoy.extensions.clusters.aggregate.v3.ClusterConfig',
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  'envoy.config.route.v3.FilterConfig',
  'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
  'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
  'envoy.extensions.load_balancing_policies.random.v3.Random',
  'envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash',
  'envoy.extensions.load_balancing_policies.maglev.v3.Maglev',
  'envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig',
  'xds.type.v3.TypedStruct',
  'udpa.type.v1.TypedStruct',
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
  'google.protobuf.Duration',
  'google.protobuf.BoolValue',
  'google.protobuf.UInt32Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.StringValue',
  'google.protobuf.DoubleValue',
  'google.rpc.Status',
];

const root = new pb.Root();
root.resolvePath = (_origin: string, target: string) => {
  for (const dir of includeDirs) {
    const p = join(dir, target);
    if (existsSync(p)) return p;
  }
  return target;
};
root.loadSync(FILES, { keepCase: true });
root.resolveAll();

type PbType = InstanceType<typeof pb.Type>;
type PbEnum = InstanceType<typeof pb.Enum>;
type PbField = InstanceType<typeof pb.Field>;
type PbMapField = InstanceType<typeof pb.MapField>;

function tsName(fullName: string): string {
  // ".envoy.config.route.v3.RouteMatch" → "config_route_v3_RouteMatch"
  const parts = fullName.replace(/^\./, '').split('.');
  if (parts[0] === 'envoy') parts.shift();
  return parts.join('_');
}

const messages: PbType[] = [];
const enums = new Map<string, PbEnum>();
{
  const seen = new Set<string>();
  const queue = ROOTS.map((n) => root.lookupType(n));
  while (queue.length > 0) {
    const t = queue.shift() as PbType;
    if (seen.has(t.fullName)) continue;
    seen.add(t.fullName);
    messages.push(t);
    for (const f of t.fieldsArray) {
      if (f.resolvedType instanceof pb.Type) queue.push(f.resolvedType);
      else if (f.resolvedType instanceof pb.Enum) enums.set(f.resolvedType.fullName, f.resolvedType);
    }
  }
}
messages.sort((a, b) => (a.fullName < b.fullName ? -1 : 1));

const SCALAR_TS: Record<string, string> = {
  double: 'number',
  float: 'number',
  int32: 'number',
  uint32: 'number',
  sint32: 'number',
  fixed32: 'number',
  sfixed32: 'number',
  int64: 'number',
  uint64: 'number',
  sint64: 'number',
  fixed64: 'number',
  sfixed64: 'number',
  bool: 'boolean',
  string: 'string',
  bytes: 'Uint8Array',
};
const WIRE: Record<string, number> = {
  double: 1,
  float: 5,
  int32: 0,
  uint32: 0,
  sint32: 0,
  fixed32: 5,
  sfixed32: 5,
  int64: 0,
  uint64: 0,
  sint64: 0,
  fixed64: 1,
  sfixed64: 1,
  bool: 0,
  string: 2,
  bytes: 2,
};
const DEFAULT: Record<string, string> = { bool: 'false', string: "''", bytes: 'EMPTY' };

function kind(f: PbField): 'message' | 'enum' | 'scalar' {
  if (f.resolvedType instanceof pb.Type) return 'message';
  if (f.resolvedType instanceof pb.Enum) return 'enum';
  return 'scalar';
}
function readerMethod(f: PbField): string {
  return kind(f) === 'enum' ? 'int32' : f.type;
}
function wireOf(f: PbField): number {
  const k = kind(f);
  if (k === 'message') return 2;
  if (k === 'enum') return 0;
  return WIRE[f.type] as number;
}
function valueTs(f: PbField, input: boolean): string {
  const k = kind(f);
  if (k === 'message') return tsName((f.resolvedType as PbType).fullName) + (input ? '$In' : '');
  if (k === 'enum') return 'number';
  return SCALAR_TS[f.type] as string;
}
function hasPresence(f: PbField): boolean {
  // oneof members (incl. proto3 `optional`) and messages are "set or not"
  return f.partOf !== null || kind(f) === 'message';
}
function isMap(f: PbField): f is PbField & PbMapField {
  return f instanceof pb.MapField;
}
/** protobufjs defines google.protobuf.* itself with camelCase names; use the proto names. */
function fname(f: PbField): string {
  const parent = (f.parent as PbType).fullName;
  return parent.startsWith('.google.protobuf.') ? f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : f.name;
}
function prop(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

const out: string[] = [];
out.push('// GENERATED by packages/xds/scripts/gen-codecs.ts from the Envoy API protos. Do not edit.');
out.push('/* eslint-disable */');
out.push("import type { Reader, Writer } from '../proto/wire.ts';");
out.push("import { decodeStructJson, encodeStructJson, type JsonObject } from '../proto/struct-json.ts';");
out.push('');
out.push('const EMPTY = new Uint8Array(0);');
out.push('');

for (const e of [...enums.values()].sort((a, b) => (a.fullName < b.fullName ? -1 : 1))) {
  const name = tsName(e.fullName);
  const entries = Object.entries(e.values)
    .map(([k, v]) => `${v}: ${JSON.stringify(k)}`)
    .join(', ');
  out.push(`export const ${name}$names: Readonly<Record<number, string>> = { ${entries} };`);
}
out.push('');

for (const t of messages) {
  const name = tsName(t.fullName);
  const fields = t.fieldsArray;
  if (t.fullName === '.google.protobuf.Struct') {
    // represented as the JSON object itself (see src/proto/struct-json.ts)
    out.push('/** google.protobuf.Struct, as the JSON object it stands for */');
    out.push(`export type ${name} = JsonObject;`);
    out.push(`export type ${name}$In = JsonObject;`);
    out.push(`export const decode${name} = decodeStructJson;`);
    out.push(`export const encode${name} = encodeStructJson;`);
    out.push('');
    continue;
  }
  // --- interfaces
  out.push(`/** ${t.fullName.replace(/^\./, '')} */`);
  out.push(`export interface ${name} {`);
  for (const f of fields) {
    if (isMap(f)) {
      out.push(`  ${fname(f)}: Record<string, ${valueTs(f, false)}>;`);
    } else if (f.repeated) {
      out.push(`  ${fname(f)}: ${valueTs(f, false)}[];`);
    } else if (hasPresence(f)) {
      out.push(`  ${fname(f)}?: ${valueTs(f, false)} | undefined;`);
    } else {
      out.push(`  ${fname(f)}: ${valueTs(f, false)};`);
    }
  }
  out.push('}');
  out.push(`export interface ${name}$In {`);
  for (const f of fields) {
    if (isMap(f)) out.push(`  ${fname(f)}?: Record<string, ${valueTs(f, true)}> | undefined;`);
    else if (f.repeated) out.push(`  ${fname(f)}?: ${valueTs(f, true)}[] | undefined;`);
    else out.push(`  ${fname(f)}?: ${valueTs(f, true)} | undefined;`);
  }
  out.push('}');

  // --- decoder
  out.push(`export function decode${name}(r: Reader, end: number): ${name} {`);
  const init = fields.map((f) => {
    if (isMap(f)) return `${fname(f)}: {}`;
    if (f.repeated) return `${fname(f)}: []`;
    if (hasPresence(f)) return `${fname(f)}: undefined`;
    if (kind(f) === 'enum') return `${fname(f)}: 0`;
    return `${fname(f)}: ${DEFAULT[f.type] ?? '0'}`;
  });
  out.push(`  const m: ${name} = { ${init.join(', ')} };`);
  out.push('  while (r.pos < end) {');
  out.push('    const tag = r.uint32();');
  out.push('    switch (tag) {');
  for (const f of fields) {
    const acc = `m${prop(fname(f))}`;
    if (isMap(f)) {
      const keyT = f.keyType;
      const keyRead = `r.${keyT}()`;
      const k = kind(f);
      const valRead =
        k === 'message'
          ? `decode${tsName((f.resolvedType as PbType).fullName)}(r, r.lenEnd())`
          : `r.${readerMethod(f)}()`;
      const valDefault = k === 'message' ? 'undefined' : k === 'enum' ? '0' : (DEFAULT[f.type] ?? '0');
      out.push(`      case ${(f.id << 3) | 2}: {`);
      out.push('        const e = r.lenEnd();');
      out.push(`        let k: unknown = ${DEFAULT[keyT] ?? '0'};`);
      out.push(`        let v: unknown = ${valDefault};`);
      out.push('        while (r.pos < e) {');
      out.push('          const t = r.uint32();');
      out.push(`          if (t === ${(1 << 3) | (WIRE[keyT] as number)}) k = ${keyRead};`);
      out.push(`          else if (t === ${(2 << 3) | wireOf(f)}) v = ${valRead};`);
      out.push('          else r.skip(t & 7);');
      out.push('        }');
      out.push(`        (${acc} as Record<string, unknown>)[String(k)] = v;`);
      out.push('        break;');
      out.push('      }');
      continue;
    }
    const k = kind(f);
    const w = wireOf(f);
    const tagNative = (f.id << 3) | w;
    if (k === 'message') {
      const read = `decode${tsName((f.resolvedType as PbType).fullName)}(r, r.lenEnd())`;
      out.push(`      case ${tagNative}:`);
      out.push(f.repeated ? `        ${acc}.push(${read});` : `        ${acc} = ${read};`);
      out.push('        break;');
      continue;
    }
    const read = `r.${readerMethod(f)}()`;
    if (f.repeated) {
      out.push(`      case ${tagNative}:`);
      out.push(`        ${acc}.push(${read});`);
      out.push('        break;');
      if (w !== 2) {
        // packed encoding
        out.push(`      case ${(f.id << 3) | 2}: {`);
        out.push('        const e = r.lenEnd();');
        out.push(`        while (r.pos < e) ${acc}.push(${read});`);
        out.push('        break;');
        out.push('      }');
      }
    } else {
      out.push(`      case ${tagNative}:`);
      out.push(`        ${acc} = ${read};`);
      out.push('        break;');
    }
  }
  out.push('      default:');
  out.push('        r.skip(tag & 7);');
  out.push('    }');
  out.push('  }');
  out.push('  return m;');
  out.push('}');

  // --- encoder
  out.push(`export function encode${name}(m: ${name}$In, w: Writer): void {`);
  for (const f of fields) {
    const acc = `m${prop(fname(f))}`;
    const k = kind(f);
    const w = wireOf(f);
    if (isMap(f)) {
      const keyT = f.keyType;
      const keyWire = WIRE[keyT] as number;
      const keyConv = keyT === 'string' ? 'key' : keyT === 'bool' ? "key === 'true'" : 'Number(key)';
      out.push(`  if (${acc} !== undefined) for (const key of Object.keys(${acc})) {`);
      out.push(`    const v = ${acc}[key];`);
      out.push(`    w.tag(${f.id}, 2); w.fork();`);
      out.push(`    w.tag(1, ${keyWire}); w.${keyT}(${keyConv});`);
      if (k === 'message') {
        out.push(
          `    if (v !== undefined) { w.tag(2, 2); w.fork(); encode${tsName((f.resolvedType as PbType).fullName)}(v, w); w.ldelim(); }`,
        );
      } else {
        out.push(`    if (v !== undefined) { w.tag(2, ${w}); w.${readerMethod(f)}(v); }`);
      }
      out.push('    w.ldelim();');
      out.push('  }');
      continue;
    }
    if (k === 'message') {
      const enc = `encode${tsName((f.resolvedType as PbType).fullName)}`;
      if (f.repeated) {
        out.push(
          `  if (${acc} !== undefined) for (const v of ${acc}) { w.tag(${f.id}, 2); w.fork(); ${enc}(v, w); w.ldelim(); }`,
        );
      } else {
        out.push(`  if (${acc} !== undefined) { w.tag(${f.id}, 2); w.fork(); ${enc}(${acc}, w); w.ldelim(); }`);
      }
      continue;
    }
    const method = readerMethod(f);
    if (f.repeated) {
      if (w === 2) {
        out.push(`  if (${acc} !== undefined) for (const v of ${acc}) { w.tag(${f.id}, 2); w.${method}(v); }`);
      } else {
        out.push(
          `  if (${acc} !== undefined && ${acc}.length > 0) { w.tag(${f.id}, 2); w.fork(); for (const v of ${acc}) w.${method}(v); w.ldelim(); }`,
        );
      }
      continue;
    }
    if (hasPresence(f)) {
      out.push(`  if (${acc} !== undefined) { w.tag(${f.id}, ${w}); w.${method}(${acc}); }`);
    } else {
      const nonDefault =
        f.type === 'bytes'
          ? `${acc} !== undefined && ${acc}.length > 0`
          : f.type === 'string'
            ? `${acc} !== undefined && ${acc} !== ''`
            : f.type === 'bool'
              ? `${acc} === true`
              : `${acc} !== undefined && ${acc} !== 0`;
      out.push(`  if (${nonDefault}) { w.tag(${f.id}, ${w}); w.${method}(${acc}); }`);
    }
  }
  out.push('}');
  out.push('');
}

out.push('export interface MessageCodec<T, I> {');
out.push('  readonly decode: (r: Reader, end: number) => T;');
out.push('  readonly encode: (m: I, w: Writer) => void;');
out.push('}');
out.push('/** Codecs of the root messages by full proto name (the part of a type URL after the slash). */');
out.push('export const MESSAGES = {');
for (const n of ROOTS) {
  const name = tsName(`.${n}`);
  out.push(
    `  ${JSON.stringify(n)}: { decode: decode${name}, encode: encode${name} } as MessageCodec<${name}, ${name}$In>,`,
  );
}
out.push('} as const;');
out.push('');

const outDir = join(here, '..', 'src', 'gen');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'envoy.ts'), out.join('\n'));
console.log(`gen-codecs: ${messages.length} messages, ${enums.size} enums → src/gen/envoy.ts`);
