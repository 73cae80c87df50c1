// Which Sampler the application's spans and the mesh's spans use. Istio samples 1% of the requests
// that arrive without a sampling decision (ProxyConfig tracing.sampling, "Default is 1.0" percent,
// istio/api mesh/v1alpha1/proxy.proto) and follows a caller's decision; the OpenTelemetry
// equivalent is ParentBased(TraceIdRatioBased(0.01)), built here as ParentBasedRatioSampler (the
// same decisions, cheaper to ask). OTEL_TRACES_SAMPLER, when set, wins over that
// default (NodeSDK reads it for the application's spans; the mesh gets the same sampler built here
// the way sdk-node 0.301 builds it), and a Sampler given in the options wins over both.
import { createLogger } from '@inboard/xds';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import { ParentBasedRatioSampler } from '../ratio-sampler.ts';

const log = createLogger('telemetry.sdk');

/** Istio's default trace sampling, in percent of the requests without a sampling decision. */
export const ISTIO_DEFAULT_SAMPLING_PERCENT = 1;

/** Environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** ParentBased(TraceIdRatioBased(percent / 100)): a caller's decision is followed, roots are sampled at the ratio. */
export function istioSampler(percent: number = ISTIO_DEFAULT_SAMPLING_PERCENT): Sampler {
  return new ParentBasedRatioSampler(percent / 100);
}

function envString(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

// sdk-node: a blank, non-numeric or out-of-range OTEL_TRACES_SAMPLER_ARG means ratio 1
function ratioFromEnv(env: Env): number {
  const raw = envString(env, 'OTEL_TRACES_SAMPLER_ARG');
  const ratio = raw === undefined ? Number.NaN : Number(raw);
  if (Number.isNaN(ratio) || ratio < 0 || ratio > 1) {
    log.warn('OTEL_TRACES_SAMPLER_ARG is missing or not in [0, 1]: ratio 1', { value: raw });
    return 1;
  }
  return ratio;
}

/**
 * The Sampler OTEL_TRACES_SAMPLER names (always_on, always_off, traceidratio, parentbased_always_on,
 * parentbased_always_off, parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG), undefined when
 * the variable is unset or names a sampler this does not know.
 */
export function samplerFromEnv(env: Env): Sampler | undefined {
  const name = envString(env, 'OTEL_TRACES_SAMPLER');
  switch (name) {
    case undefined:
      return undefined;
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratioFromEnv(env));
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedRatioSampler(ratioFromEnv(env));
    default:
      return undefined;
  }
}

export interface SamplerChoice {
  /** the mesh's spans' sampler */
  readonly mesh: Sampler;
  /** NodeSDK's `sampler` option: undefined lets NodeSDK read OTEL_TRACES_SAMPLER itself */
  readonly sdk: Sampler | undefined;
  readonly source: 'option' | 'env' | 'istio-default';
}

export function chooseSampler(option: Sampler | undefined, env: Env): SamplerChoice {
  if (option !== undefined) return { mesh: option, sdk: option, source: 'option' };
  const name = envString(env, 'OTEL_TRACES_SAMPLER');
  if (name === undefined) {
    const sampler = istioSampler();
    return { mesh: sampler, sdk: sampler, source: 'istio-default' };
  }
  const fromEnv = samplerFromEnv(env);
  if (fromEnv !== undefined) return { mesh: fromEnv, sdk: undefined, source: 'env' };
  // NodeSDK logs the unknown name and falls back to the SDK's default: the mesh does the same
  log.warn('unknown OTEL_TRACES_SAMPLER: the SDK default (parent-based, always on) for the mesh too', { name });
  return { mesh: new ParentBasedSampler({ root: new AlwaysOnSampler() }), sdk: undefined, source: 'env' };
}
