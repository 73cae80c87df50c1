// Which name list a State-of-the-World response was built from. SotW does not say: a response
// names no request, and a push the server built from its older list can cross, on the wire, a
// request that adds a name. A listener or cluster missing from an LDS/CDS response is evidence
// that it does not exist only if the response was built from a list that included it; otherwise
// the name must wait for its does-not-exist timer.
//
// The tracker reasons from the rules istiod applies to one stream (our AdsServer follows them
// too): requests are handled in order; a request carrying a stale nonce is
// ignored, and so is a NACK; one with an empty nonce is always answered; one with the current
// nonce is answered when its names differ from the server's list and is only an ACK otherwise;
// the answer to a request goes out before any later push; and a push, made because the
// configuration changed, carries a new version_info while an answer repeats the current one.
// From those it names the list a response was built from when that is certain, and nothing
// otherwise. A response whose version changed is taken for a push and proves nothing (an answer
// also carries a new version when the type was not pushed at the last change: the client then
// asks again with an empty nonce, and the answer to that settles it). A server that breaks a rule
// (a push that repeats the version) can still make a name look missing until the next response.
//
// A response with a new version may be a push or an answer, so an empty-nonce request answered
// with a new version (istiod's version moves with every full push, whatever types it carries)
// stays carried until a response with an unchanged version accounts for it. The client keeps
// that bounded: it sends no empty-nonce request while one may be unanswered (see
// `awaitingEmptyNonce`), so at most one is ever carried.

/** A request's names; 'all' is the wildcard (the empty LDS/CDS list). */
export type NameList = ReadonlySet<string> | 'all';

export interface Answered {
  readonly builtFrom: NameList | undefined;
  readonly couldList: NameList | undefined;
  readonly push: boolean;
}

interface Sent {
  readonly names: NameList;
  readonly emptyNonce: boolean;
}

export class SotwAnswers {
  /** the list the server held after its last response, when known */
  #serverList: NameList | undefined;
  /** requests sent since the last response arrived, in order */
  #since: Sent[] = [];
  /** empty-nonce requests sent before the last response arrived: each still gets its answer */
  #carried: Sent[] = [];
  /**
   * How many of the carried requests may already have been answered by responses taken for
   * pushes (an answer carries a new version when the type was not pushed at the last change).
   */
  #lag = 0;
  #version: string | undefined;

  /** Records a request (not a NACK: the server ignores those). */
  requested(names: NameList, emptyNonce: boolean): void {
    this.#since.push({ names, emptyNonce });
  }

  /**
   * Whether an empty-nonce request may still be unanswered. Another one sent now would be
   * carried behind it, and each answer then matched to the older request.
   */
  get awaitingEmptyNonce(): boolean {
    return this.#carried.length > 0 || this.#since.some((r) => r.emptyNonce);
  }

  /** How many empty-nonce requests sent before the last response it still waits on (tests). */
  get waiting(): number {
    return this.#carried.length;
  }

  /**
   * Records a response: `builtFrom` is the list it was certainly built from (or a part of it),
   * undefined when that is not known; `couldList` holds every name the list it was built from
   * may have held (undefined when not known); `push` says it was taken for a push.
   */
  answered(version: string): Answered {
    const push = this.#version !== undefined && version !== this.#version;
    this.#version = version;
    const since = this.#since;
    this.#since = [];
    if (push) {
      // Nothing is certain. A true push is built from the list the server held (a request it
      // handled first would have been answered first); but this may be an answer after all,
      // to a carried request or to one sent since. The server's list is known still only if
      // nothing outstanding could have changed it.
      const server = this.#serverList;
      const kept =
        server !== undefined &&
        this.#carried.length === 0 &&
        since.every((r) => !r.emptyNonce && sameNames(r.names, server));
      if (!kept) this.#serverList = undefined;
      for (const r of since) if (r.emptyNonce) this.#carried.push(r);
      if (this.#carried.length > 0) this.#lag++;
      return { builtFrom: undefined, couldList: undefined, push };
    }
    // An answer. Its trigger is, in the order the server handles them: the next carried
    // request (or one of the next `lag + 1`), else the first request sent since that changes
    // the server's list or has an empty nonce (pure ACKs before it are not answered).
    const candidates: NameList[] = [];
    let sinceMayTrigger = true;
    let rest = since;
    if (this.#carried.length > 0) {
      const window = this.#carried.slice(0, this.#lag + 1);
      for (const r of window) candidates.push(r.names);
      sinceMayTrigger = this.#lag + 1 > this.#carried.length;
      this.#carried.shift();
    }
    let ambiguousEmpty = false;
    if (sinceMayTrigger) {
      const server = this.#serverList;
      if (server !== undefined && candidates.length === 0) {
        const i = since.findIndex((r) => r.emptyNonce || !sameNames(r.names, server));
        // with none, the server resent the list it holds
        candidates.push(i === -1 ? server : (since[i] as Sent).names);
        rest = i === -1 ? [] : since.slice(i + 1);
      } else {
        // Server list unknown: one of the requests up to the first empty-nonce one (which is
        // always answered) triggered it. If none was sent, nothing is known.
        const j = since.findIndex((r) => r.emptyNonce);
        const upTo = j === -1 ? since : since.slice(0, j + 1);
        for (const r of upTo) candidates.push(r.names);
        if (j !== -1 && candidates.length > 1) {
          // the empty-nonce request may not be the trigger: it stays pending, and may already
          // have been answered
          rest = since.slice(j);
          ambiguousEmpty = true;
        } else {
          rest = j === -1 ? [] : since.slice(j + 1);
        }
      }
    }
    // Requests with the current nonce that did not trigger this response are stale now; empty
    // nonce ones are still answered, in order.
    for (const r of rest) if (r.emptyNonce) this.#carried.push(r);
    if (ambiguousEmpty) this.#lag++;
    if (this.#carried.length === 0) this.#lag = 0;
    if (candidates.length === 0) {
      this.#serverList = undefined;
      return { builtFrom: undefined, couldList: undefined, push };
    }
    const built = candidates.reduce(intersect);
    const exact = candidates.every((c) => sameNames(c, candidates[0] as NameList));
    this.#serverList = exact ? built : undefined;
    return { builtFrom: built, couldList: candidates.reduce(union), push };
  }
}

function sameNames(a: NameList, b: NameList): boolean {
  if (a === 'all' || b === 'all') return a === b;
  if (a.size !== b.size) return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}

function intersect(a: NameList, b: NameList): NameList {
  if (a === 'all') return b;
  if (b === 'all') return a;
  const out = new Set<string>();
  for (const n of a) if (b.has(n)) out.add(n);
  return out;
}

function union(a: NameList, b: NameList): NameList {
  if (a === 'all' || b === 'all') return 'all';
  return new Set([...a, ...b]);
}

/** Whether a list includes a name. */
export function listed(list: NameList, name: string): boolean {
  return list === 'all' || list.has(name);
}
