// Envoy's path templates (envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig), as
// its uri_template library parses them, turned into the anchored regular expression Envoy builds
// from them. istiod sends one for AuthorizationPolicy paths with `{*}` / `{**}` (rewritten to
// `*` / `**`). The grammar:
//   template  = "/" [ segment *( "/" segment ) ] [ "/" | suffix ]
//   segment   = "*" | "**" | variable | literal
//   variable  = "{" name [ "=" match *( "/" match ) ] "}"   (match = "*" | "**" | literal)
//   suffix    = literal, directly after the last segment (`/*.txt`)
// `*` is one path segment of literal characters, `**` any number of them (slashes included) and
// only as the last operator; a variable without a match is `*`. At most 5 variables, names of
// 1–16 characters starting with a letter, none repeated. Literals are RFC 3986 pchars minus `*`
// (Envoy's kLiteral, which takes `=` back in: a `*` or `**` must match a segment such as `a=1`).

/** The characters a literal, and a `*` segment, are made of (RFC 3986 pchar without `*`). */
const PCHAR = "a-zA-Z0-9\\-._~%!$&'()+,;:@=";
const LITERAL = new RegExp(`^[${PCHAR}]+$`);
const VARIABLE_NAME = /^[a-zA-Z][a-zA-Z0-9_]*$/;
const PRINTABLE = /^\/[\x21-\x7e]*$/;
const PATH_GLOB = `[${PCHAR}]+`;
const TEXT_GLOB = `[${PCHAR}/]*`;
const MAX_VARIABLES = 5;
const MAX_VARIABLE_NAME = 16;

export class UriTemplateError extends Error {}

type Part = { readonly op: '*' | '**' } | { readonly literal: string };

function escapeLiteral(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** The literal up to the next '/' (or the end); throws when it is not a valid literal. */
function literalAt(rest: string): string {
  const slash = rest.indexOf('/');
  const lit = slash < 0 ? rest : rest.slice(0, slash);
  if (!LITERAL.test(lit)) throw new UriTemplateError(`invalid literal ${JSON.stringify(lit)}`);
  return lit;
}

function operatorAt(rest: string): '*' | '**' {
  return rest.startsWith('**') ? '**' : '*';
}

function partRegex(part: Part): string {
  if ('literal' in part) return escapeLiteral(part.literal);
  return part.op === '*' ? PATH_GLOB : TEXT_GLOB;
}

/**
 * The regular expression source (to be matched against the whole path, without query and
 * fragment) of an Envoy path template. Throws UriTemplateError naming what is wrong.
 */
export function uriTemplateRegex(template: string): string {
  if (!PRINTABLE.test(template)) {
    throw new UriTemplateError('must start with "/" and hold only printable ASCII characters');
  }
  let rest = template.slice(1);
  const segments: string[] = [];
  let suffix = '';
  const names = new Set<string>();
  let textGlobSeen = false;
  const glob = (op: '*' | '**') => {
    if (textGlobSeen) throw new UriTemplateError('"**" must be the last operator');
    if (op === '**') textGlobSeen = true;
  };
  while (rest !== '') {
    if (rest[0] === '*') {
      const op = operatorAt(rest);
      glob(op);
      segments.push(partRegex({ op }));
      rest = rest.slice(op.length);
    } else if (rest[0] === '{') {
      const close = rest.indexOf('}');
      if (close < 0) throw new UriTemplateError('unmatched "{"');
      const body = rest.slice(1, close);
      rest = rest.slice(close + 1);
      const eq = body.indexOf('=');
      const name = eq < 0 ? body : body.slice(0, eq);
      if (!VARIABLE_NAME.test(name)) throw new UriTemplateError(`invalid variable name ${JSON.stringify(name)}`);
      if (names.size >= MAX_VARIABLES) throw new UriTemplateError(`more than ${MAX_VARIABLES} variables`);
      if (name.length > MAX_VARIABLE_NAME) {
        throw new UriTemplateError(`variable name ${JSON.stringify(name)} is longer than ${MAX_VARIABLE_NAME}`);
      }
      if (names.has(name)) throw new UriTemplateError(`variable ${JSON.stringify(name)} is repeated`);
      names.add(name);
      if (eq < 0) {
        glob('*');
        segments.push(`(?:${PATH_GLOB})`);
      } else {
        let match = body.slice(eq + 1);
        if (match === '') throw new UriTemplateError(`variable ${JSON.stringify(name)} has an empty match`);
        const parts: string[] = [];
        while (match !== '') {
          if (match[0] === '*') {
            const op = operatorAt(match);
            glob(op);
            parts.push(partRegex({ op }));
            match = match.slice(op.length);
          } else {
            const lit = literalAt(match);
            parts.push(escapeLiteral(lit));
            match = match.slice(lit.length);
          }
          if (match !== '') {
            if (match[0] !== '/' || match.length === 1) {
              throw new UriTemplateError(`invalid match in variable ${JSON.stringify(name)}`);
            }
            match = match.slice(1);
          }
        }
        segments.push(`(?:${parts.join('/')})`);
      }
    } else {
      const lit = literalAt(rest);
      segments.push(escapeLiteral(lit));
      rest = rest.slice(lit.length);
    }
    if (rest === '') break;
    if (rest === '/') {
      // a trailing '/': an empty last segment
      segments.push('');
      break;
    }
    if (rest[0] === '/') {
      rest = rest.slice(1);
      continue;
    }
    // text right after a segment: the suffix, which must end the template
    const lit = literalAt(rest);
    if (lit.length !== rest.length) throw new UriTemplateError('a suffix must end the template');
    suffix = escapeLiteral(lit);
    break;
  }
  return `^/${segments.join('/')}${suffix}$`;
}
