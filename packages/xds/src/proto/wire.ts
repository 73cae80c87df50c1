// Protobuf wire format: the small runtime the generated codecs in ../gen run on.
// Decoding produces plain objects; 64-bit integers become JS numbers (exact up to 2^53,
// which covers every xDS field we read: versions, weights, byte limits, durations).

export class ProtoDecodeError extends Error {
  readonly code = 'INBOARD_PROTO_DECODE';
  constructor(message: string) {
    super(message);
    this.name = 'ProtoDecodeError';
  }
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });
const textEncoder = new TextEncoder();
const TWO_32 = 4294967296;

export class Reader {
  pos = 0;
  readonly buf: Uint8Array;
  private view: DataView | undefined;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  get len(): number {
    return this.buf.length;
  }

  private dv(): DataView {
    if (this.view === undefined) {
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    }
    return this.view;
  }

  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    let b = buf[pos++] as number;
    let value = b & 0x7f;
    if (b >= 0x80) {
      b = buf[pos++] as number;
      value |= (b & 0x7f) << 7;
      if (b >= 0x80) {
        b = buf[pos++] as number;
        value |= (b & 0x7f) << 14;
        if (b >= 0x80) {
          b = buf[pos++] as number;
          value |= (b & 0x7f) << 21;
          if (b >= 0x80) {
            b = buf[pos++] as number;
            value |= (b & 0x0f) << 28;
            // A negative int32 is sign-extended to ten bytes; skip the upper five.
            let extra = 0;
            while (b >= 0x80) {
              if (++extra > 5) throw new ProtoDecodeError('varint longer than 10 bytes');
              b = buf[pos++] as number;
            }
          }
        }
      }
    }
    if (pos > this.buf.length) throw new ProtoDecodeError('truncated varint');
    this.pos = pos;
    return value >>> 0;
  }

  int32(): number {
    return this.uint32() | 0;
  }

  sint32(): number {
    const n = this.uint32();
    return (n >>> 1) ^ -(n & 1);
  }

  /** A 64-bit varint as a number (two's complement when `signed`). */
  private varint64(signed: boolean): number {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    let b: number;
    // low 28 bits
    for (; shift < 28; shift += 7) {
      b = buf[pos++] as number;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return this.finish64(pos, lo >>> 0, 0, signed);
    }
    b = buf[pos++] as number;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b < 0x80) return this.finish64(pos, lo >>> 0, hi, signed);
    for (shift = 3; shift < 32; shift += 7) {
      b = buf[pos++] as number;
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) return this.finish64(pos, lo >>> 0, hi >>> 0, signed);
    }
    throw new ProtoDecodeError('varint longer than 10 bytes');
  }

  private finish64(pos: number, lo: number, hi: number, signed: boolean): number {
    if (pos > this.buf.length) throw new ProtoDecodeError('truncated varint');
    this.pos = pos;
    if (signed && hi & 0x80000000) {
      // negative: -(~x + 1)
      const nlo = (~lo + 1) >>> 0;
      const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
      return -(nhi * TWO_32 + nlo);
    }
    return hi * TWO_32 + lo;
  }

  int64(): number {
    return this.varint64(true);
  }

  uint64(): number {
    return this.varint64(false);
  }

  sint64(): number {
    const n = this.varint64(false);
    // zigzag on a number: exact within 2^53
    return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  private need(n: number): number {
    const p = this.pos;
    if (p + n > this.buf.length) throw new ProtoDecodeError('truncated fixed-width value');
    this.pos = p + n;
    return p;
  }

  fixed32(): number {
    return this.dv().getUint32(this.need(4), true);
  }

  sfixed32(): number {
    return this.dv().getInt32(this.need(4), true);
  }

  fixed64(): number {
    const p = this.need(8);
    return this.dv().getUint32(p + 4, true) * TWO_32 + this.dv().getUint32(p, true);
  }

  sfixed64(): number {
    const p = this.need(8);
    return this.dv().getInt32(p + 4, true) * TWO_32 + this.dv().getUint32(p, true);
  }

  float(): number {
    return this.dv().getFloat32(this.need(4), true);
  }

  double(): number {
    return this.dv().getFloat64(this.need(8), true);
  }

  /** Reads a length prefix and returns where the delimited value ends. */
  lenEnd(): number {
    const n = this.uint32();
    const end = this.pos + n;
    if (end > this.buf.length) throw new ProtoDecodeError('length-delimited field runs past the end of the message');
    return end;
  }

  /**
   * A view into the input, not a copy: decoded messages share the buffer they came from
   * (each gRPC message arrives in a buffer of its own, which nobody writes to afterwards).
   */
  bytes(): Uint8Array {
    const end = this.lenEnd();
    const out = this.buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  string(): string {
    const end = this.lenEnd();
    const start = this.pos;
    this.pos = end;
    const buf = this.buf;
    if (end - start < 48) {
      // Short strings (names, domains, type URLs) are nearly always ASCII: decode inline.
      let s = '';
      for (let i = start; i < end; i++) {
        const c = buf[i] as number;
        if (c >= 0x80) return textDecoder.decode(buf.subarray(start, end));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return textDecoder.decode(buf.subarray(start, end));
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.uint64();
        return;
      case 1:
        this.need(8);
        return;
      case 2:
        this.pos = this.lenEnd();
        return;
      case 5:
        this.need(4);
        return;
      case 3: {
        // deprecated group: skip until the matching end-group tag
        for (;;) {
          if (this.pos >= this.buf.length) throw new ProtoDecodeError('unterminated group');
          const tag = this.uint32();
          if ((tag & 7) === 4) return;
          this.skip(tag & 7);
        }
      }
      default:
        throw new ProtoDecodeError(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }
}

export class Writer {
  buf: Uint8Array;
  pos = 0;
  private view: DataView;
  private forks: number[] = [];

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  tag(field: number, wireType: number): void {
    this.uint32(((field << 3) | wireType) >>> 0);
  }

  uint32(v: number): void {
    this.ensure(5);
    let n = v >>> 0;
    const buf = this.buf;
    while (n > 0x7f) {
      buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[this.pos++] = n;
  }

  int32(v: number): void {
    if (v < 0) this.int64(v);
    else this.uint32(v);
  }

  sint32(v: number): void {
    this.uint32(((v << 1) ^ (v >> 31)) >>> 0);
  }

  uint64(v: number): void {
    this.int64(v);
  }

  int64(v: number): void {
    this.ensure(10);
    let lo: number;
    let hi: number;
    if (v >= 0) {
      lo = (v % TWO_32) >>> 0;
      hi = Math.floor(v / TWO_32) >>> 0;
    } else {
      const a = -v;
      let alo = (a % TWO_32) >>> 0;
      let ahi = Math.floor(a / TWO_32) >>> 0;
      alo = (~alo + 1) >>> 0;
      ahi = (~ahi + (alo === 0 ? 1 : 0)) >>> 0;
      lo = alo;
      hi = ahi;
    }
    const buf = this.buf;
    while (hi > 0 || lo > 0x7f) {
      buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[this.pos++] = lo;
  }

  sint64(v: number): void {
    this.uint64(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  sfixed32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v, true);
    this.pos += 4;
  }

  fixed64(v: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, (v % TWO_32) >>> 0, true);
    this.view.setUint32(this.pos + 4, Math.floor(v / TWO_32) >>> 0, true);
    this.pos += 8;
  }

  sfixed64(v: number): void {
    this.fixed64(v < 0 ? TWO_32 * TWO_32 + v : v);
  }

  float(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  bytes(v: Uint8Array): void {
    this.uint32(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  string(v: string): void {
    // at most 3 bytes per UTF-16 unit
    const max = v.length * 3;
    if (max < 128) {
      this.ensure(1 + max);
      const start = this.pos + 1;
      const { written } = textEncoder.encodeInto(v, this.buf.subarray(start, start + max));
      this.buf[this.pos] = written;
      this.pos = start + written;
      return;
    }
    this.fork();
    this.ensure(max);
    const { written } = textEncoder.encodeInto(v, this.buf.subarray(this.pos, this.pos + max));
    this.pos += written;
    this.ldelim();
  }

  /** Starts a length-delimited value whose length is known only at `ldelim()`. */
  fork(): void {
    this.ensure(1);
    this.forks.push(this.pos);
    this.pos += 1;
  }

  ldelim(): void {
    const start = this.forks.pop();
    if (start === undefined) throw new Error('Writer.ldelim() without fork()');
    const len = this.pos - start - 1;
    let n = 1;
    for (let l = len >>> 7; l > 0; l >>>= 7) n++;
    if (n > 1) {
      this.ensure(n - 1);
      this.buf.copyWithin(start + n, start + 1, this.pos);
      this.pos += n - 1;
    }
    let p = start;
    let l = len;
    while (l > 0x7f) {
      this.buf[p++] = (l & 0x7f) | 0x80;
      l >>>= 7;
    }
    this.buf[p] = l;
  }

  /** Empties the writer, keeping its buffer. */
  reset(): void {
    this.pos = 0;
    this.forks.length = 0;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export type Decoder<T> = (r: Reader, end: number) => T;
export type Encoder<T> = (m: T, w: Writer) => void;

export function decodeBytes<T>(decode: Decoder<T>, bytes: Uint8Array): T {
  const r = new Reader(bytes);
  return decode(r, bytes.length);
}

// One scratch writer for every top-level encode: encoders are synchronous and never nest a
// top-level encode, so its grown buffer can be reused instead of re-grown per message.
let scratch: Writer | undefined;

export function encodeToBytes<T>(encode: Encoder<T>, m: T): Uint8Array {
  const w = scratch ?? new Writer(64 * 1024);
  scratch = undefined; // a re-entrant call (should one ever happen) gets a writer of its own
  try {
    w.reset();
    encode(m, w);
    return w.finish();
  } finally {
    if (w.buf.length <= 16 * 1024 * 1024) scratch = w;
  }
}
