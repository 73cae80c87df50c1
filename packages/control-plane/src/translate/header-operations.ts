// VirtualService `headers` → header mutations (route.TranslateHeadersOperations): `set` overwrites,
// `add` appends, pseudo-headers and `host` are dropped, and a set/add of `:authority`/`host`
// becomes the authority rewrite instead.
import type { envoy } from '@inboard/xds/codec';
import type { Headers, StringMap } from '../config/istio-types.ts';
import { AppendAction } from './envoy-names.ts';

type HeaderValueOptionIn = envoy.config_core_v3_HeaderValueOption$In;

export interface HeaderOperations {
  readonly requestHeadersToAdd: HeaderValueOptionIn[];
  readonly responseHeadersToAdd: HeaderValueOptionIn[];
  readonly requestHeadersToRemove: string[];
  readonly responseHeadersToRemove: string[];
  /** '' when no authority rewrite is asked for. */
  readonly authority: string;
}

function isInternal(key: string): boolean {
  return key.startsWith(':') || key.toLowerCase() === 'host';
}

function isAuthority(key: string): boolean {
  const k = key.toLowerCase();
  return k === ':authority' || k === 'host';
}

function appendHeaders(headers: StringMap | undefined, append: boolean): [HeaderValueOptionIn[], string] {
  if (headers === undefined) return [[], ''];
  let authority = '';
  const out: HeaderValueOptionIn[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (isAuthority(key)) authority = value;
    if (isInternal(key)) continue;
    out.push({
      header: { key, value },
      append_action: append ? AppendAction.APPEND_IF_EXISTS_OR_ADD : AppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
    });
  }
  // sort.Stable by key: deterministic whatever the map order
  out.sort((a, b) => (a.header!.key! < b.header!.key! ? -1 : a.header!.key! > b.header!.key! ? 1 : 0));
  return [out, authority];
}

export function translateHeaderOperations(h: Headers): HeaderOperations {
  const [reqSet, setAuthority] = appendHeaders(h.request?.set, false);
  const [reqAdd, addAuthority] = appendHeaders(h.request?.add, true);
  const [respSet] = appendHeaders(h.response?.set, false);
  const [respAdd] = appendHeaders(h.response?.add, true);
  return {
    requestHeadersToAdd: [...reqSet, ...reqAdd],
    responseHeadersToAdd: [...respSet, ...respAdd],
    requestHeadersToRemove: (h.request?.remove ?? []).filter((k) => !isInternal(k)),
    responseHeadersToRemove: (h.response?.remove ?? []).filter((k) => !isInternal(k)),
    authority: setAuthority !== '' ? setAuthority : addAuthority,
  };
}
