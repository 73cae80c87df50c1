// @inboard/http: Inboard's data plane.

export * from './cluster/index.ts';
export * from './dispatch/index.ts';
export * from './fault/index.ts';
export * from './inbound/index.ts';
export * from './mesh/index.ts';
export * from './rbac/index.ts';
export * from './retry/index.ts';
export * from './route/index.ts';
