// Fault injection decisions (envoy.filters.http.fault), pure and deterministic under an
// injected random source.
export { ActiveFaults } from './active-faults.ts';
export { type CompiledFault, compileFault, FaultCompileError } from './compiled-fault.ts';
export {
  decideFault,
  type FaultAbortDecision,
  type FaultContext,
  FaultInjection,
  type FaultResponseFlag,
  selectFault,
} from './fault-decision.ts';
export * from './fault-headers.ts';
