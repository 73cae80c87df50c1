// Golden-file comparison for translator output. Resources go through the real path — translate,
// encode into a Snapshot, decode again — and are compared as proto3-JSON-like objects: default
// scalars and empty lists left out, Any unpacked into {"@type": ..., ...fields}, bytes in base64.
// INBOARD_UPDATE_GOLDEN=1 rewrites the expected files (review the diff before committing it).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Snapshot } from '@inboard/control-plane';
import { decodeMessage, hasCodec, type MessageName, messageNameOf } from '@inboard/xds/codec';

/** Map fields whose emptiness carries no meaning (unlike an empty message, or RBAC `policies`). */
const MAP_FIELDS = new Set([
  'typed_per_filter_config',
  'filter_metadata',
  'typed_filter_metadata',
  'typed_extension_protocol_options',
  'dynamic_parameters',
  'named_endpoints',
]);

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isAny(v: object): v is { type_url: string; value: Uint8Array } {
  return 'type_url' in v && 'value' in v && (v as { value: unknown }).value instanceof Uint8Array;
}

/** proto3-JSON-like view of a decoded message. */
export function normalize(v: unknown): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number') return v === 0 ? undefined : v;
  if (typeof v === 'boolean') return v ? true : undefined;
  if (v instanceof Uint8Array) return v.length === 0 ? undefined : Buffer.from(v).toString('base64');
  if (Array.isArray(v)) {
    const out = v.map((x) => normalize(x) ?? {});
    return out.length === 0 ? undefined : out;
  }
  if (typeof v === 'object') {
    if (isAny(v)) {
      const name = messageNameOf(v.type_url);
      if (hasCodec(name))
        return { '@type': name, ...((normalize(decodeMessage(name as MessageName, v.value)) as object) ?? {}) };
      const value = normalize(v.value);
      return value === undefined ? { '@type': name } : { '@type': name, value };
    }
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) {
      const n = normalize(x);
      if (n === undefined) continue;
      if (MAP_FIELDS.has(k) && typeof n === 'object' && n !== null && Object.keys(n).length === 0) continue;
      out[k] = n;
    }
    return out;
  }
  return undefined;
}

const DECODERS: Readonly<Record<string, MessageName>> = {
  'type.googleapis.com/envoy.config.listener.v3.Listener': 'envoy.config.listener.v3.Listener',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': 'envoy.config.route.v3.RouteConfiguration',
  'type.googleapis.com/envoy.config.cluster.v3.Cluster': 'envoy.config.cluster.v3.Cluster',
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment':
    'envoy.config.endpoint.v3.ClusterLoadAssignment',
};

/** A resource of a snapshot, decoded from its encoded bytes and normalized. */
export function resource(snapshot: Snapshot, typeUrl: string, name: string): Json {
  const r = snapshot.resource(typeUrl, name);
  assert.ok(
    r !== undefined,
    `no ${typeUrl} resource ${JSON.stringify(name)}; have ${[...snapshot.resources(typeUrl).keys()].join(', ')}`,
  );
  return normalize(decodeMessage(DECODERS[typeUrl]!, r.resource.value)) ?? {};
}

const UPDATE = process.env['INBOARD_UPDATE_GOLDEN'] === '1';
const files = new Map<string, Record<string, Json>>();

function goldenFile(file: string): { path: string; data: Record<string, Json> } {
  const path = fileURLToPath(new URL(`./${file}`, import.meta.url));
  let data = files.get(path);
  if (data === undefined) {
    try {
      data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Json>;
    } catch {
      data = {};
    }
    files.set(path, data);
  }
  return { path, data };
}

/** Asserts `actual` equals the fragment stored under `name` in test/golden/`file`. */
export function expectGolden(file: string, name: string, actual: Json | undefined): void {
  const { path, data } = goldenFile(file);
  const value = actual ?? null;
  if (UPDATE) {
    data[name] = value;
    const sorted = Object.fromEntries(
      Object.keys(data)
        .sort()
        .map((k) => [k, data[k]!]),
    );
    writeFileSync(path, `${JSON.stringify(sorted, null, 2)}\n`);
    return;
  }
  assert.ok(Object.hasOwn(data, name), `golden case ${JSON.stringify(name)} missing from ${file}`);
  assert.deepEqual(value, data[name], `golden ${file} → ${name}`);
}

/** Walks a normalized value: `at(x, 'virtual_hosts', 0, 'routes')`. */
export function at(v: Json | undefined, ...path: (string | number)[]): Json | undefined {
  let cur: Json | undefined = v;
  for (const p of path) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, Json>)[p as string];
  }
  return cur;
}
