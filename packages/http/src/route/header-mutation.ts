// request/response_headers_to_add / _to_remove, applied like HeaderParser::evaluateHeaders:
// within one level, removals first; then every add/overwrite decision is taken against the
// headers as they stand after the removals; then overwrites are applied, then appends.
// Levels run from most to least specific (so a less specific overwrite wins and appends pile
// up), or the reverse for most_specific_header_mutations_wins; see composeHeaderMutator.
//
// Headers are a plain object keyed by lower-case name. An append to a header that is already
// present turns its value into an array (a repeated header line), which is what Envoy's
// addReferenceKey does for all but its few "inline" headers, where it joins with ','.
import type { HeaderAppendAction, HeaderValueOption } from '@inboard/xds';
import { asciiLower } from './ascii-case.ts';
import {
  compileHeaderFormat,
  type HeaderFormatContext,
  type HeaderFormatEnvironment,
  type HeaderValueFormatter,
} from './header-format.ts';

export type HeaderRecord = Record<string, string | string[]>;
/** `ctx`: the request the headers belong to, for values with commands (`%REQ(...)%`...) */
export type HeaderMutator = (headers: HeaderRecord, ctx?: HeaderFormatContext) => void;

export const NOOP_MUTATOR: HeaderMutator = () => {};

const SKIP = 0;
const OVERWRITE = 1;
const APPEND = 2;

interface Addition {
  readonly name: string;
  /** the constant value (when `format` is undefined) */
  readonly value: string;
  /** evaluated per request when the value has commands */
  readonly format: HeaderValueFormatter | undefined;
  readonly keepEmptyValue: boolean;
  readonly action: HeaderAppendAction;
}

/** Where a level's values are evaluated: request or response headers, and this process's facts. */
export interface FormatSetting {
  readonly response: boolean;
  readonly env: HeaderFormatEnvironment;
}

const DEFAULT_FORMAT_SETTING: FormatSetting = { response: false, env: { localAddress: '127.0.0.1' } };

/** Why a header list cannot be compiled; `index` points into the adds or removes list. */
export class HeaderMutationConfigError extends Error {
  readonly list: 'add' | 'remove';
  readonly index: number;
  constructor(list: 'add' | 'remove', index: number, message: string) {
    super(message);
    this.list = list;
    this.index = index;
  }
}

/** The value Envoy's formatter produces for a literal: `%%` is a literal `%`. */
export function literalHeaderValue(value: string): string {
  return value.includes('%%') ? value.replaceAll('%%', '%') : value;
}

function isReserved(name: string): boolean {
  return name.startsWith(':') || name === 'host';
}

function present(headers: HeaderRecord, name: string): boolean {
  const v = Object.hasOwn(headers, name) ? headers[name] : undefined;
  return v !== undefined && (typeof v === 'string' || v.length > 0);
}

/** One level (route config, vhost, route or weighted cluster) of header mutations. */
export class MutationLevel {
  readonly #removes: readonly string[];
  readonly #adds: readonly Addition[];
  // Decisions of the add pass; apply() runs to completion synchronously, so one buffer suffices.
  readonly #decisions: Uint8Array;
  /** the values of this request, when some have commands (else undefined: all constant) */
  readonly #values: string[] | undefined;

  private constructor(removes: readonly string[], adds: readonly Addition[]) {
    this.#removes = removes;
    this.#adds = adds;
    this.#decisions = new Uint8Array(adds.length);
    this.#values = adds.some((a) => a.format !== undefined) ? adds.map((a) => a.value) : undefined;
  }

  /** undefined when the level does nothing. Throws HeaderMutationConfigError. */
  static compile(
    add: readonly HeaderValueOption[],
    remove: readonly string[],
    setting: FormatSetting = DEFAULT_FORMAT_SETTING,
  ): MutationLevel | undefined {
    const removes = remove.map((n, i) => {
      const name = asciiLower(n);
      // Envoy rejects this config: pseudo headers and Host may not be removed.
      if (isReserved(name)) throw new HeaderMutationConfigError('remove', i, `${n} may not be removed`);
      return name;
    });
    const adds: Addition[] = [];
    add.forEach((o, i) => {
      const name = asciiLower(o.name);
      if (isReserved(name)) throw new HeaderMutationConfigError('add', i, `${o.name} may not be set`);
      if (o.format !== undefined) {
        const format = compileHeaderFormat(o.format, setting.response, setting.env);
        adds.push({ name, value: '', format, keepEmptyValue: o.keepEmptyValue, action: o.action });
        return;
      }
      const value = literalHeaderValue(o.value);
      // keep_empty_value=false: a header whose value is empty is not added at all
      if (value === '' && !o.keepEmptyValue) return;
      adds.push({ name, value, format: undefined, keepEmptyValue: o.keepEmptyValue, action: o.action });
    });
    if (removes.length === 0 && adds.length === 0) return undefined;
    return new MutationLevel(removes, adds);
  }

  apply(headers: HeaderRecord, ctx?: HeaderFormatContext): void {
    for (const name of this.#removes) delete headers[name];
    if (this.#values !== undefined) {
      this.#applyFormatted(headers, ctx, this.#values);
      return;
    }
    const adds = this.#adds;
    const decisions = this.#decisions;
    for (let i = 0; i < adds.length; i++) {
      const a = adds[i]!;
      decisions[i] = decide(a.action, headers, a.name);
    }
    for (let i = 0; i < adds.length; i++) {
      if (decisions[i] === OVERWRITE) headers[adds[i]!.name] = adds[i]!.value;
    }
    for (let i = 0; i < adds.length; i++) {
      if (decisions[i] !== APPEND) continue;
      appendHeader(headers, adds[i]!.name, adds[i]!.value);
    }
  }

  /**
   * apply() for a level with commands: every value is evaluated first, against the headers as
   * they stand after the removals (Envoy's evaluateHeaders), and an empty one is dropped unless
   * keep_empty_value.
   */
  #applyFormatted(headers: HeaderRecord, ctx: HeaderFormatContext | undefined, values: string[]): void {
    const adds = this.#adds;
    const decisions = this.#decisions;
    for (let i = 0; i < adds.length; i++) {
      const a = adds[i]!;
      const value = a.format === undefined ? a.value : a.format(headers, ctx);
      values[i] = value;
      if (value === '' && !a.keepEmptyValue) {
        decisions[i] = SKIP;
        continue;
      }
      decisions[i] = decide(a.action, headers, a.name);
    }
    for (let i = 0; i < adds.length; i++) {
      if (decisions[i] === OVERWRITE) headers[adds[i]!.name] = values[i]!;
    }
    for (let i = 0; i < adds.length; i++) {
      if (decisions[i] !== APPEND) continue;
      appendHeader(headers, adds[i]!.name, values[i]!);
    }
  }
}

/** What append_action does with a header value, given the headers after the removals. */
function decide(action: HeaderAppendAction, headers: HeaderRecord, name: string): number {
  switch (action) {
    case 'APPEND_IF_EXISTS_OR_ADD':
      return APPEND;
    case 'ADD_IF_ABSENT':
      return present(headers, name) ? SKIP : APPEND;
    case 'OVERWRITE_IF_EXISTS':
      return present(headers, name) ? OVERWRITE : SKIP;
    case 'OVERWRITE_IF_EXISTS_OR_ADD':
      return OVERWRITE;
  }
}

function appendHeader(headers: HeaderRecord, name: string, value: string): void {
  const prev = present(headers, name) ? headers[name] : undefined;
  if (prev === undefined) headers[name] = value;
  else headers[name] = typeof prev === 'string' ? [prev, value] : [...prev, value];
}

/** Runs `levels` in the given order; skips the empty ones. */
export function composeHeaderMutator(levels: readonly (MutationLevel | undefined)[]): HeaderMutator {
  const active = levels.filter((l): l is MutationLevel => l !== undefined);
  if (active.length === 0) return NOOP_MUTATOR;
  if (active.length === 1) {
    const only = active[0]!;
    return (h, ctx) => only.apply(h, ctx);
  }
  return (h, ctx) => {
    for (let i = 0; i < active.length; i++) active[i]!.apply(h, ctx);
  };
}

/**
 * Envoy's level order. The weighted cluster's own mutations always run first
 * (WeightedClusterEntry::finalizeRequestHeaders evaluates them before delegating); the route,
 * vhost and route-config levels follow from most to least specific, or from least to most
 * specific when most_specific_header_mutations_wins is set.
 */
export function orderLevels<T>(
  cluster: T | undefined,
  route: T | undefined,
  vhost: T | undefined,
  routeConfig: T | undefined,
  mostSpecificWins: boolean,
): (T | undefined)[] {
  return mostSpecificWins ? [cluster, routeConfig, vhost, route] : [cluster, route, vhost, routeConfig];
}
