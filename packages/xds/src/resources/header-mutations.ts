// request/response headers to add and remove, at route configuration, virtual host, route and
// weighted cluster level.
import type { config_core_v3_HeaderValueOption } from '../gen/envoy.ts';
import { parseHeaderFormat } from './header-format.ts';
import { hasInvalidHeaderChars, isUnmodifiableHeader } from './header-names.ts';
import type { HeaderAppendAction, HeaderMutations, HeaderValueOption } from './model.ts';
import type { Problems } from './problems.ts';
import { EMPTY } from './proto-values.ts';

const APPEND_ACTIONS: readonly HeaderAppendAction[] = [
  'APPEND_IF_EXISTS_OR_ADD',
  'ADD_IF_ABSENT',
  'OVERWRITE_IF_EXISTS_OR_ADD',
  'OVERWRITE_IF_EXISTS',
];

export const NO_HEADER_MUTATIONS: HeaderMutations = Object.freeze({
  requestHeadersToAdd: EMPTY,
  requestHeadersToRemove: EMPTY,
  responseHeadersToAdd: EMPTY,
  responseHeadersToRemove: EMPTY,
});

const utf8 = new TextDecoder();

function headersToAdd(
  list: readonly config_core_v3_HeaderValueOption[],
  path: string,
  p: Problems,
): readonly HeaderValueOption[] {
  if (list.length === 0) return EMPTY;
  const out = new Array<HeaderValueOption>(list.length);
  for (let i = 0; i < list.length; i++) {
    const o = list[i]!;
    const at = `${path}[${i}]`;
    const h = o.header;
    let name = '';
    let value = '';
    let format: HeaderValueOption['format'];
    if (h === undefined) {
      p.add(`${at}.header`, 'must be set');
    } else {
      name = h.key.toLowerCase();
      value = h.value !== '' || h.raw_value.length === 0 ? h.value : utf8.decode(h.raw_value);
      if (name === '') p.add(`${at}.header.key`, 'must not be empty');
      else if (isUnmodifiableHeader(name))
        p.add(
          `${at}.header.key`,
          `${JSON.stringify(name)} may not be added or modified (pseudo-headers and host are not modifiable)`,
        );
      else if (hasInvalidHeaderChars(name)) p.add(`${at}.header.key`, 'invalid header name');
      if (hasInvalidHeaderChars(value)) p.add(`${at}.header.value`, 'header values must not contain CR, LF or NUL');
      else {
        try {
          format = parseHeaderFormat(value);
        } catch (err) {
          p.add(`${at}.header.value`, `header ${JSON.stringify(name)}: ${(err as Error).message}`);
        }
      }
    }
    let action = APPEND_ACTIONS[o.append_action];
    if (action === undefined) {
      p.add(`${at}.append_action`, `unknown append action ${o.append_action}`);
      action = 'APPEND_IF_EXISTS_OR_ADD';
    }
    if (o.append !== undefined) {
      // The deprecated bool wins, but only when append_action is left at its default.
      if (o.append_action !== 0) p.add(at, 'append and append_action cannot both be set');
      action = o.append.value ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD';
    }
    out[i] =
      format === undefined
        ? { name, value, action, keepEmptyValue: o.keep_empty_value }
        : { name, value, format, action, keepEmptyValue: o.keep_empty_value };
  }
  return out;
}

function headersToRemove(list: readonly string[], path: string, p: Problems): readonly string[] {
  if (list.length === 0) return EMPTY;
  const out = new Array<string>(list.length);
  for (let i = 0; i < list.length; i++) {
    const name = list[i]!.toLowerCase();
    if (name === '') p.add(`${path}[${i}]`, 'must not be empty');
    else if (isUnmodifiableHeader(name))
      p.add(`${path}[${i}]`, `${JSON.stringify(name)} may not be removed (pseudo-headers and host are not modifiable)`);
    out[i] = name;
  }
  return out;
}

interface HasHeaderMutations {
  request_headers_to_add: config_core_v3_HeaderValueOption[];
  request_headers_to_remove: string[];
  response_headers_to_add: config_core_v3_HeaderValueOption[];
  response_headers_to_remove: string[];
}

export function headerMutations(m: HasHeaderMutations, path: string, p: Problems): HeaderMutations {
  if (
    m.request_headers_to_add.length === 0 &&
    m.request_headers_to_remove.length === 0 &&
    m.response_headers_to_add.length === 0 &&
    m.response_headers_to_remove.length === 0
  ) {
    return NO_HEADER_MUTATIONS;
  }
  return {
    requestHeadersToAdd: headersToAdd(m.request_headers_to_add, `${path}.request_headers_to_add`, p),
    requestHeadersToRemove: headersToRemove(m.request_headers_to_remove, `${path}.request_headers_to_remove`, p),
    responseHeadersToAdd: headersToAdd(m.response_headers_to_add, `${path}.response_headers_to_add`, p),
    responseHeadersToRemove: headersToRemove(m.response_headers_to_remove, `${path}.response_headers_to_remove`, p),
  };
}
