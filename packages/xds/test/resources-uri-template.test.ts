// Path templates in RBAC permissions (uri_template, UriTemplateMatchConfig), as istiod sends them
// for AuthorizationPolicy paths with {*} / {**}: Envoy's uri_template grammar, and a NACK naming
// the template for one that does not parse (never a rule that silently matches nothing).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ListenerIn, packAny } from '@inboard/xds/codec';
import { plaintextInboundListener } from '../../../test/support/inbound-engine.ts';
import { ROUTER_FILTER } from '../../../test/support/istio-shaped.ts';
import { listenerType } from '../src/resources/index.ts';
import { UriTemplateError, uriTemplateRegex } from '../src/resources/uri-template.ts';

const matches = (template: string, path: string) => new RegExp(uriTemplateRegex(template)).test(path);

describe("Envoy's path template grammar", () => {
  const cases: [template: string, yes: string[], no: string[]][] = [
    ['/admin/**', ['/admin/', '/admin/users', '/admin/a/b/c'], ['/admin', '/administrator', '/x/admin/users']],
    ['/admin/*', ['/admin/users', '/admin/a%2Fb'], ['/admin/', '/admin/a/b', '/admin']],
    ['/api/*/users', ['/api/v1/users'], ['/api/users', '/api/v1/v2/users', '/api/v1/users/1']],
    ['/**/users', ['/a/users', '/a/b/users', '//users'], ['/users/x']],
    ['/files/*.txt', ['/files/a.txt', '/files/a.b.txt'], ['/files/.txt', '/files/a/b.txt', '/files/a.txtx']],
    ['/{name}/x', ['/abc/x'], ['//x', '/a/b/x']],
    ['/v1/{path=**}', ['/v1/', '/v1/a/b'], ['/v1']],
    ['/v1/{id=user/*}/z', ['/v1/user/7/z'], ['/v1/user/z', '/v1/group/7/z']],
    ['/a.b/', ['/a.b/'], ['/a.b', '/aXb/']],
    ['/', ['/'], ['/a']],
    ["/x-._~!$&'()+,;:@%20", ["/x-._~!$&'()+,;:@%20"], ['/x']],
    // `=` is a literal character, and part of what `*` and `**` match (Envoy's kLiteral)
    ['/a=b', ['/a=b'], ['/ab']],
    ['/x/*', ['/x/a=1', '/x/u;v=2'], ['/x/a/b']],
  ];
  for (const [template, yes, no] of cases) {
    test(template, () => {
      for (const p of yes) assert.equal(matches(template, p), true, `${template} should match ${p}`);
      for (const p of no) assert.equal(matches(template, p), false, `${template} should not match ${p}`);
    });
  }

  test('templates Envoy rejects', () => {
    for (const bad of [
      '',
      'admin/*',
      '/admin/**/*',
      '/**/{x}',
      '/{x=**}/*',
      '/a b',
      '/a//b',
      '/a*',
      '/***',
      '/{x',
      '/{1x}',
      '/{x=}',
      '/{x=a/}',
      '/{x}/{x}',
      '/{a}/{b}/{c}/{d}/{e}/{f}',
      '/{abcdefghijklmnopq}',
      '/*.txt/x',
      '/caf\u00e9',
    ]) {
      assert.throws(() => uriTemplateRegex(bad), UriTemplateError, JSON.stringify(bad));
    }
  });
});

const MATCH_CONFIG = 'envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig';
const uriTemplate = (typeUrl: string, template: string) => ({
  name: 'uri-template',
  typed_config: {
    type_url: `type.googleapis.com/${typeUrl}`,
    value: typeUrl === MATCH_CONFIG ? packAny(MATCH_CONFIG, { path_template: template }).value : new Uint8Array(0),
  },
});

/** istiod's inbound listener with a DENY policy on `to.operation.paths: [<template>]`. */
function listenerDenying(template: ReturnType<typeof uriTemplate>): ListenerIn {
  return plaintextInboundListener('0.0.0.0', 8080, [
    {
      name: 'envoy.filters.http.rbac.DENY',
      typed_config: packAny('envoy.extensions.filters.http.rbac.v3.RBAC', {
        rules: {
          action: 1,
          policies: {
            'default-deny-admin-0': {
              permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ uri_template: template }] } }] } }],
              principals: [{ any: true }],
            },
          },
        },
      }),
    },
    ROUTER_FILTER,
  ]);
}

function decode(l: ListenerIn) {
  return listenerType.decode(packAny('envoy.config.listener.v3.Listener', l), { certificateProviders: undefined });
}

describe('uri_template permissions in a listener', () => {
  test('a valid template decodes to its regular expression', () => {
    const r = decode(listenerDenying(uriTemplate(MATCH_CONFIG, '/admin/**')));
    if (!r.ok) assert.fail(r.errors.join('\n'));
    assert.match(JSON.stringify(r.value), /"kind":"uri_template","pathTemplate":"\/admin\/\*\*"/);
  });

  test('an invalid template is a NACK naming it', () => {
    const r = decode(listenerDenying(uriTemplate(MATCH_CONFIG, '/admin/**/*')));
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.errors.length, 1);
    assert.match(
      r.errors[0]!,
      /uri_template\.typed_config\.path_template: invalid path template "\/admin\/\*\*\/\*": "\*\*" must be the last operator/,
    );
  });

  test('a path matcher extension other than UriTemplateMatchConfig is a NACK', () => {
    const r = decode(listenerDenying(uriTemplate('example.OtherPathMatcher', '')));
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.match(r.errors[0]!, /uri_template\.typed_config: unsupported path matcher/);
  });
});
