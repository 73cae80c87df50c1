// The targets (`host:port`) the outbound mesh resolves, found from the client listeners the xDS
// client watches: a target's listener name is the bootstrap's client template with `%s` = target.
// (OutboundMesh keeps its target map private; every target it resolves watches its listener.)
import type { OutboundMesh } from '@inboard/http';
import { resourceTypes } from '@inboard/xds';

export function meshTargets(mesh: OutboundMesh): string[] {
  const template = mesh.xds.bootstrap.clientDefaultListenerResourceNameTemplate;
  const at = template.indexOf('%s');
  if (at < 0) return [];
  const prefix = template.slice(0, at);
  const suffix = template.slice(at + 2);
  const out = new Set<string>();
  for (const r of mesh.xds.client.dump()) {
    if (r.typeUrl !== resourceTypes.listener.typeUrl) continue;
    if (!r.name.startsWith(prefix) || !r.name.endsWith(suffix)) continue;
    const target = r.name.slice(prefix.length, r.name.length - suffix.length);
    // server listeners (`xds.istio.io/grpc/lds/inbound/…`) share the type; targets are host:port
    if (/^[^/\s]+:\d+$/.test(target)) out.add(target);
  }
  return [...out].sort();
}
