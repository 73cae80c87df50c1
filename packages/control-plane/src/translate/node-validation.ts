// An AuthHook that ends a stream with INVALID_ARGUMENT when its node is one istiod would reject
// (malformed id, wrongly typed metadata), naming the offending fields, before any other check.
import { status } from '@grpc/grpc-js';
import type { AuthDecision, AuthHook } from '../auth-hook.ts';
import { InvalidNodeError, parseProxyNode } from './proxy-node.ts';

export function validateIstioNode(inner?: AuthHook): AuthHook {
  return (metadata, node, context): AuthDecision | Promise<AuthDecision> => {
    try {
      parseProxyNode(node);
    } catch (err) {
      if (err instanceof InvalidNodeError)
        return { code: status.INVALID_ARGUMENT, message: `invalid node: ${err.message}` };
      throw err;
    }
    return inner === undefined ? true : inner(metadata, node, context);
  };
}
