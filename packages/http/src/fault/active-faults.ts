// The fault filter's shared state: the active_faults gauge that max_active_faults is checked
// against, plus Envoy's fault counters. One per fault filter instance (per HCM), shared by the
// filter-level config and every per-route override under it, as in Envoy.

export class ActiveFaults {
  /** requests currently holding a fault (gauge active_faults) */
  active = 0;
  /** counter delays_injected */
  delaysInjected = 0;
  /** counter aborts_injected */
  abortsInjected = 0;
  /** counter faults_overflow: a fault was due but max_active_faults was reached */
  overflows = 0;
}
