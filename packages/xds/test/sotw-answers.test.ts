// SotwAnswers against a simulated server with istiod's rules: whatever the interleaving of
// requests, pushes (with and without this type) and messages in flight, a list the tracker calls
// certain never holds a name the response was not built from (that would condemn an existing
// listener or cluster), and without pushes it always knows the list.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type NameList, SotwAnswers } from '../src/client/sotw-answers.ts';

/** mulberry32: a small seeded generator, so a failing run can be replayed */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Req {
  names: Set<string>;
  nonce: string;
}
interface Res {
  version: string;
  nonce: string;
  builtFrom: Set<string>;
}

/** Server rules of istiod's ShouldRespond for LDS/CDS, as in our AdsServer's SotwStream. */
class Server {
  list: Set<string> | undefined;
  nonce = '';
  version = 1;
  private n = 0;
  private readonly out: Res[];
  constructor(out: Res[]) {
    this.out = out;
  }
  receive(r: Req): void {
    if (r.nonce === '' || this.list === undefined) {
      this.list = new Set(r.names);
      this.respond();
      return;
    }
    if (r.nonce !== this.nonce) return; // stale
    const changed = r.names.size !== this.list.size || [...r.names].some((n) => !this.list!.has(n));
    this.list = new Set(r.names);
    if (changed) this.respond();
  }
  configChange(pushThisType: boolean): void {
    this.version++;
    if (pushThisType && this.list !== undefined) this.respond();
  }
  private respond(): void {
    this.nonce = `n${++this.n}`;
    this.out.push({ version: String(this.version), nonce: this.nonce, builtFrom: new Set(this.list) });
  }
}

function subsetOf(a: NameList, b: NameList): boolean {
  if (b === 'all') return true;
  if (a === 'all') return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}

interface SimOptions {
  readonly seeds: number;
  /** chance that a step is a configuration change (half of them push this type) */
  readonly changes: number;
  /** chance that a request goes with an empty nonce */
  readonly emptyNonce: number;
  /** as the client does: no empty-nonce request while one may be unanswered */
  readonly oneEmptyNonce?: boolean;
  readonly steps?: number;
}

/** Runs random interleavings; fails on an unsound claim; returns how many claims were made. */
function simulate(o: SimOptions): { claims: number; responses: number; missed: number; carried: number } {
  const universe = ['a', 'b', 'c', 'd', 'e'];
  let claims = 0;
  let responses = 0;
  let missed = 0;
  let carried = 0; // most empty-nonce requests the tracker waited on, beyond those sent before the first response
  for (let seed = 1; seed <= o.seeds; seed++) {
    const random = seeded(seed);
    const toServer: Req[] = [];
    const toClient: Res[] = [];
    const server = new Server(toClient);
    const tracker = new SotwAnswers();
    const names = new Set<string>(['a']);
    let lastNonce = '';
    let first = 0;
    const send = (emptyNonce: boolean) => {
      const nonce = emptyNonce && !(o.oneEmptyNonce === true && tracker.awaitingEmptyNonce) ? '' : lastNonce;
      if (lastNonce === '') first++; // no response yet: every request has an empty nonce
      tracker.requested(new Set(names), nonce === '');
      toServer.push({ names: new Set(names), nonce });
    };
    send(true);
    for (let step = 0; step < (o.steps ?? 40); step++) {
      const r = random() * (0.8 + o.changes);
      if (r < 0.2) {
        const n = universe[Math.floor(random() * universe.length)]!;
        if (names.has(n) && names.size > 1) names.delete(n);
        else names.add(n);
        send(random() < o.emptyNonce);
      } else if (r < 0.5 && toServer.length > 0) {
        server.receive(toServer.shift()!);
      } else if (r < 0.8 && toClient.length > 0) {
        const res = toClient.shift()!;
        responses++;
        const { builtFrom, couldList } = tracker.answered(res.version);
        carried = Math.max(carried, tracker.waiting - first);
        if (couldList !== undefined) {
          // a cached name outside it keeps its value: it must hold every name of the real list
          assert.ok(
            subsetOf(res.builtFrom, couldList),
            `seed ${seed}: said [${[...(couldList as Set<string>)]}] could hold a list built from [${[...res.builtFrom]}]`,
          );
        }
        if (builtFrom !== undefined) {
          claims++;
          assert.ok(
            subsetOf(builtFrom, res.builtFrom),
            `seed ${seed}: claimed [${[...(builtFrom as Set<string>)]}] for a response built from [${[...res.builtFrom]}]`,
          );
          if (!subsetOf(res.builtFrom, builtFrom)) missed++;
        }
        lastNonce = res.nonce;
        send(random() < o.emptyNonce); // the ACK
      } else if (r >= 0.8) {
        server.configChange(random() < 0.5);
      }
    }
  }
  return { claims, responses, missed, carried };
}

test('a list called certain is always one the response was built from (random interleavings with pushes)', () => {
  for (const changes of [0.1, 0.3]) {
    for (const emptyNonce of [0, 0.1, 0.3]) {
      const r = simulate({ seeds: 2000, changes, emptyNonce });
      assert.ok(r.claims > r.responses / 4, `claims for ${r.claims} of ${r.responses} responses`);
    }
  }
});

test('with no configuration change, every response is known to be built from exactly its list', () => {
  for (const emptyNonce of [0, 0.3]) {
    const r = simulate({ seeds: 2000, changes: 0, emptyNonce });
    assert.equal(r.claims, r.responses);
    assert.equal(r.missed, 0);
  }
});

test('sending one empty-nonce request at a time, as the client does, keeps what it waits on bounded', () => {
  // long streams with subscription churn and configuration changes, most of them not pushing
  // this type (so answers carry new versions and cannot be told from pushes)
  const r = simulate({ seeds: 100, changes: 0.3, emptyNonce: 0.3, oneEmptyNonce: true, steps: 3000 });
  assert.ok(
    r.carried <= 1,
    `waited on ${r.carried} empty-nonce requests more than were sent before the first response`,
  );
});
