// Waiting for a target's xDS state in tests, without sleeping: the first snapshot (now or later)
// that satisfies a predicate; rejects when the resolver reports an error first.
import type { TargetResolver, TargetSnapshot } from '@inboard/xds';

export function snapshotWhere(r: TargetResolver, pred: (s: TargetSnapshot) => boolean): Promise<TargetSnapshot> {
  const now = r.current();
  if (now !== undefined && pred(now)) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const off = r.subscribe({
      onSnapshot: (s) => {
        if (pred(s)) {
          off();
          resolve(s);
        }
      },
      onError: (e) => {
        off();
        reject(e);
      },
    });
  });
}
