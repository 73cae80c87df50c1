// A bootstrap resource name template (`client_default_listener_resource_name_template`) applied
// to a target. gRFC A47: when the template is an xdstp: URI, the target is %-encoded as a URI
// path, so that a target such as `[fd00::1]:8080` cannot break the name apart; old-style
// templates take the target as it is.

// RFC 3986 pchar (unreserved, sub-delims, ':' and '@') plus '/', as gRPC C-core keeps them.
const PATH_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

export function applyResourceNameTemplate(template: string, target: string): string {
  const value = template.startsWith('xdstp:') ? percentEncodePath(target) : target;
  return template.replaceAll('%s', value);
}

function percentEncodePath(s: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && PATH_SAFE.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
