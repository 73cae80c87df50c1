// google.protobuf.Struct is represented as the JSON object it stands for, in both directions:
// decoding straight into plain values avoids a Struct + Value wrapper per field, which is most of
// the allocation in istiod's endpoint metadata (two Structs per endpoint).
import { ProtoDecodeError, type Reader, type Writer } from './wire.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

function setKey(o: JsonObject, k: string, v: JsonValue): void {
  // a "__proto__" key from the wire must stay data, never become the prototype
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

export function decodeStructJson(r: Reader, end: number): JsonObject {
  const o: JsonObject = {};
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag !== 10) {
      r.skip(tag & 7);
      continue;
    }
    const e = r.lenEnd();
    let k = '';
    let v: JsonValue = null;
    while (r.pos < e) {
      const t = r.uint32();
      if (t === 10) k = r.string();
      else if (t === 18) v = decodeValueJson(r, r.lenEnd());
      else r.skip(t & 7);
    }
    setKey(o, k, v);
  }
  return o;
}

export function decodeValueJson(r: Reader, end: number): JsonValue {
  let v: JsonValue = null;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 8:
        r.uint32();
        v = null;
        break;
      case 17:
        v = r.double();
        break;
      case 26:
        v = r.string();
        break;
      case 32:
        v = r.bool();
        break;
      case 42:
        v = decodeStructJson(r, r.lenEnd());
        break;
      case 50: {
        const e = r.lenEnd();
        const list: JsonValue[] = [];
        while (r.pos < e) {
          const t = r.uint32();
          if (t === 10) list.push(decodeValueJson(r, r.lenEnd()));
          else r.skip(t & 7);
        }
        v = list;
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  return v;
}

export function encodeStructJson(o: Readonly<JsonObject>, w: Writer): void {
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === undefined) continue;
    w.tag(1, 2);
    w.fork();
    w.tag(1, 2);
    w.string(k);
    w.tag(2, 2);
    w.fork();
    encodeValueJson(v, w);
    w.ldelim();
    w.ldelim();
  }
}

export function encodeValueJson(v: JsonValue, w: Writer): void {
  if (v === null) {
    w.tag(1, 0);
    w.uint32(0);
  } else if (typeof v === 'number') {
    w.tag(2, 1);
    w.double(v);
  } else if (typeof v === 'string') {
    w.tag(3, 2);
    w.string(v);
  } else if (typeof v === 'boolean') {
    w.tag(4, 0);
    w.bool(v);
  } else if (Array.isArray(v)) {
    w.tag(6, 2);
    w.fork();
    for (const item of v) {
      w.tag(1, 2);
      w.fork();
      encodeValueJson(item, w);
      w.ldelim();
    }
    w.ldelim();
  } else if (typeof v === 'object') {
    w.tag(5, 2);
    w.fork();
    encodeStructJson(v, w);
    w.ldelim();
  } else {
    throw new ProtoDecodeError(`cannot encode ${typeof v} as google.protobuf.Value`);
  }
}
