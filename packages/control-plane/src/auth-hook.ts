// The optional per-stream authentication hook, run once on the first request (when the node is
// known), so tests can emulate istiod's bearer-token / identity checks.
import { type Metadata, status } from '@grpc/grpc-js';
import type { Node } from '@inboard/xds/codec';
import type { AdsStreamKind } from './ads-events.ts';

/** A gRPC status to end a stream with. */
export interface StreamStatus {
  readonly code: number;
  readonly message: string;
}

/** `true`/`undefined` accepts, `false` rejects with UNAUTHENTICATED, a status rejects with that status. */
export type AuthDecision = boolean | undefined | StreamStatus;

export interface AuthContext {
  readonly kind: AdsStreamKind;
  readonly peer: string;
}

export type AuthHook = (metadata: Metadata, node: Node, context: AuthContext) => AuthDecision | Promise<AuthDecision>;

/** The status a decision rejects with, or undefined when it accepts. */
export function authRejection(decision: AuthDecision): StreamStatus | undefined {
  if (decision === undefined || decision === true) return undefined;
  if (decision === false) return { code: status.UNAUTHENTICATED, message: 'unauthenticated' };
  return decision;
}
