// RBAC permissions and principals compiled to predicates, following Envoy's
// extensions/filters/common/rbac/matchers.cc:
// - header: HeaderUtility::matchHeaders over the request (values joined with ',');
// - url_path: the path without query and fragment, after normalisation;
// - destination_ip / destination_port(_range): the connection's local address; the range is
//   half-open [start, end);
// - requested_server_name: the TLS SNI ('' when none);
// - uri_template: the path template's regular expression (built and validated by the xDS layer)
//   over the same path as url_path;
// - authenticated: no principal_name → any TLS connection; otherwise the URI SANs, then the DNS
//   SANs, then the subject of the verified client certificate (plaintext never matches);
// - source_ip and direct_remote_ip: the connection's peer; remote_ip: after X-Forwarded-For.
// `unsupported` (metadata, filter_state, generic matchers) never matches, as gRPC
// does (gRFC A41), so inside `not` it matches everything: policies relying on one should be read
// with that in mind.
import type { RbacPermission, RbacPrincipal } from '@inboard/xds';
import { compileHeaderMatcher } from '../route/header-matcher.ts';
import { compileStringMatcher } from '../route/string-matcher.ts';
import { compileCidr } from './cidr-matcher.ts';
import type { RbacRequest } from './rbac-request.ts';

export type RbacPredicate = (req: RbacRequest) => boolean;

const ALWAYS: RbacPredicate = () => true;
const NEVER: RbacPredicate = () => false;

function anyOf(preds: readonly RbacPredicate[]): RbacPredicate {
  if (preds.length === 0) return NEVER;
  if (preds.length === 1) return preds[0]!;
  return (req) => {
    for (let i = 0; i < preds.length; i++) if (preds[i]!(req)) return true;
    return false;
  };
}

function allOf(preds: readonly RbacPredicate[]): RbacPredicate {
  if (preds.length === 0) return ALWAYS;
  if (preds.length === 1) return preds[0]!;
  return (req) => {
    for (let i = 0; i < preds.length; i++) if (!preds[i]!(req)) return false;
    return true;
  };
}

function not(pred: RbacPredicate): RbacPredicate {
  return (req) => !pred(req);
}

/** Throws Re2SyntaxError for a bad regex. */
export function compilePermission(p: RbacPermission): RbacPredicate {
  switch (p.kind) {
    case 'any':
      return ALWAYS;
    case 'and':
      return allOf(p.rules.map(compilePermission));
    case 'or':
      return anyOf(p.rules.map(compilePermission));
    case 'not':
      return not(compilePermission(p.rule));
    case 'header':
      return compileHeaderMatcher(p.matcher);
    case 'url_path': {
      const test = compileStringMatcher(p.matcher);
      return (req) => test(req.urlPath);
    }
    case 'destination_ip': {
      const test = compileCidr(p.cidr);
      return (req) => test(req.destinationIp);
    }
    case 'destination_port': {
      const port = p.port;
      return (req) => req.destinationPort === port;
    }
    case 'destination_port_range': {
      const { start, end } = p;
      return (req) => req.destinationPort >= start && req.destinationPort < end;
    }
    case 'requested_server_name': {
      const test = compileStringMatcher(p.matcher);
      return (req) => test(req.requestedServerName);
    }
    case 'uri_template': {
      // Envoy matches the template against the path without query and fragment
      const re = new RegExp(p.regex);
      return (req) => re.test(req.urlPath);
    }
    case 'unsupported':
      return NEVER;
  }
}

/** Throws Re2SyntaxError for a bad regex. */
export function compilePrincipal(p: RbacPrincipal): RbacPredicate {
  switch (p.kind) {
    case 'any':
      return ALWAYS;
    case 'and':
      return allOf(p.ids.map(compilePrincipal));
    case 'or':
      return anyOf(p.ids.map(compilePrincipal));
    case 'not':
      return not(compilePrincipal(p.id));
    case 'authenticated': {
      if (p.matcher === undefined) return (req) => req.tls;
      const test = compileStringMatcher(p.matcher);
      return (req) => {
        if (!req.tls) return false;
        const peer = req.peer;
        // a TLS connection without a client certificate has an empty subject, as in Envoy
        if (peer === undefined) return test('');
        for (const san of peer.uriSans) if (test(san)) return true;
        for (const san of peer.dnsSans) if (test(san)) return true;
        return test(peer.subject);
      };
    }
    case 'source_ip':
    case 'direct_remote_ip': {
      const test = compileCidr(p.cidr);
      return (req) => test(req.sourceIp);
    }
    case 'remote_ip': {
      const test = compileCidr(p.cidr);
      return (req) => test(req.remoteIp);
    }
    case 'header':
      return compileHeaderMatcher(p.matcher);
    case 'url_path': {
      const test = compileStringMatcher(p.matcher);
      return (req) => test(req.urlPath);
    }
    case 'unsupported':
      return NEVER;
  }
}

/** A policy's permissions (any of) and principals (any of): both must match. */
export function compilePolicyMatch(
  permissions: readonly RbacPermission[],
  principals: readonly RbacPrincipal[],
): RbacPredicate {
  const perm = anyOf(permissions.map(compilePermission));
  const princ = anyOf(principals.map(compilePrincipal));
  return (req) => perm(req) && princ(req);
}
