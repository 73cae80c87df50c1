// A native span: what the mesh records for a request, an attempt or an inbound request when its
// spans are not made by the SDK's Tracer (tracing.spanProcessors). It is both an API Span (the
// application sees the inbound SERVER span as its active span and may add to it) and an SDK
// ReadableSpan, so span processors and exporters take it as they take the SDK's own.
//
// Cheaper than the SDK's span by what it leaves out of the hot path: times are kept as
// performance.now() readings and turned into HrTime only when an exporter reads them; the mesh's
// attributes are set without validation (their types are fixed here); events and links
// allocate only when used.
import {
  type Attributes,
  type AttributeValue,
  type Exception,
  type HrTime,
  type Link,
  type Span,
  type SpanContext,
  type SpanKind,
  type SpanStatus,
  SpanStatusCode,
  type TimeInput,
} from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace';

/** What ended spans go to and what they carry (shared by every span of one tracer). */
export interface SpanSink {
  readonly processors: readonly SpanProcessor[];
  readonly resource: Resource;
  readonly instrumentationScope: { readonly name: string; readonly version?: string };
}

/** Attribute count limit (the SDK's default span limit). */
const ATTRIBUTE_COUNT_LIMIT = 128;
const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });
const NONE: never[] = Object.freeze([]) as unknown as never[];

// The epoch time of performance.now() === 0, re-read from the wall clock at most once a second (the
// SDK re-reads it per span) so spans follow wall-clock adjustments without a Date.now() each.
class ClockOrigin {
  readonly ms: number;
  readonly readAt: number;
  constructor(now: number) {
    this.readAt = now;
    this.ms = Date.now() - now;
  }
}
let origin = new ClockOrigin(performance.now());

function originAt(now: number): ClockOrigin {
  if (now - origin.readAt > 1000 || now < origin.readAt) origin = new ClockOrigin(now);
  return origin;
}

function msToHrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  const ns = Math.round((ms - s * 1000) * 1e6);
  return ns >= 1e9 ? [s + 1, ns - 1e9] : [s, ns];
}

/** HrTime of origin + rel, with the sub-millisecond part added separately to keep its precision. */
function hrTimeAt(o: ClockOrigin, rel: number): HrTime {
  const a = msToHrTime(Math.floor(o.ms));
  const b = msToHrTime(o.ms - Math.floor(o.ms) + rel);
  const ns = a[1] + b[1];
  return ns >= 1e9 ? [a[0] + b[0] + 1, ns - 1e9] : [a[0] + b[0], ns];
}

function isHrTime(t: unknown): t is HrTime {
  return Array.isArray(t) && t.length === 2 && typeof t[0] === 'number' && typeof t[1] === 'number';
}

// Numbers below this are performance time, above it epoch milliseconds (1e11 ms: three years of
// uptime, or March 1973). The SDK asks whether a number is at most performance.now(); for any
// process younger than three years and any epoch time after 1973 the answers agree, without a
// clock read.
const PERFORMANCE_TIME_BOUND = 1e11;

/** A TimeInput as milliseconds relative to `o`. */
function relativeMs(t: TimeInput, o: ClockOrigin): number {
  if (typeof t === 'number') return t < PERFORMANCE_TIME_BOUND ? t : t - o.ms;
  if (t instanceof Date) return t.getTime() - o.ms;
  if (isHrTime(t)) return t[0] * 1000 + t[1] / 1e6 - o.ms;
  return performance.now();
}

function isPrimitive(v: unknown): boolean {
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean';
}

/** A primitive, or an array of primitives (nulls allowed), as the API's AttributeValue. */
function isAttributeValue(v: unknown): v is AttributeValue {
  return isPrimitive(v) || (Array.isArray(v) && v.every((x) => x === null || x === undefined || isPrimitive(x)));
}

export class NativeSpan implements Span, ReadableSpan {
  name: string;
  readonly kind: SpanKind;
  readonly parentSpanContext: SpanContext | undefined;
  /** replaced once by endWith() when nothing was set since the start */
  attributes: Attributes;
  status: SpanStatus = UNSET;
  readonly #context: SpanContext;
  readonly #sink: SpanSink;
  readonly #origin: ClockOrigin;
  readonly #start: number;
  #end = Number.NaN; // set as the span ends (before onEnding)
  // HrTimes given as such are kept exactly (a double of epoch milliseconds holds ≈ 0.2 µs)
  #exactStart: HrTime | undefined = undefined;
  #exactEnd: HrTime | undefined = undefined;
  #ended = false;
  // attributes that may still be added before the limit: counted exactly only when it runs out
  #room: number;
  /** an attribute was set after the start (endWith() then merges instead of replacing) */
  #attributesSet = false;
  #droppedAttributes = 0;
  #events: TimedEvent[] | undefined = undefined;
  #links: Link[] | undefined = undefined;

  /**
   * `attributes` becomes the span's own object (not copied), holding at most `maxAttributes` keys;
   * `startTime` is performance.now() time unless given.
   */
  constructor(
    sink: SpanSink,
    spanContext: SpanContext,
    parent: SpanContext | undefined,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    maxAttributes: number,
    startTime: TimeInput | undefined,
  ) {
    this.#sink = sink;
    this.#context = spanContext;
    this.parentSpanContext = parent;
    this.name = name;
    this.kind = kind;
    this.attributes = attributes;
    this.#room = ATTRIBUTE_COUNT_LIMIT - maxAttributes;
    if (startTime === undefined) {
      const now = performance.now();
      this.#origin = originAt(now);
      this.#start = now;
    } else {
      this.#origin = origin;
      this.#start = relativeMs(startTime, origin);
    }
    if (startTime !== undefined && isHrTime(startTime)) this.#exactStart = [startTime[0], startTime[1]];
  }

  spanContext(): SpanContext {
    return this.#context;
  }

  // --- ReadableSpan -----------------------------------------------------------------------------

  get resource(): Resource {
    return this.#sink.resource;
  }
  get instrumentationScope(): { readonly name: string; readonly version?: string } {
    return this.#sink.instrumentationScope;
  }
  get startTime(): HrTime {
    return this.#exactStart ?? hrTimeAt(this.#origin, this.#start);
  }
  get endTime(): HrTime {
    if (Number.isNaN(this.#end)) return [0, 0];
    return this.#exactEnd ?? hrTimeAt(this.#origin, this.#end);
  }
  get duration(): HrTime {
    if (Number.isNaN(this.#end)) return [-1, -1];
    if (this.#exactStart === undefined && this.#exactEnd === undefined) return msToHrTime(this.#end - this.#start);
    const [s, e] = [this.startTime, this.endTime];
    const ns = e[1] - s[1];
    return ns < 0 ? [e[0] - s[0] - 1, ns + 1e9] : [e[0] - s[0], ns];
  }
  get ended(): boolean {
    return this.#ended;
  }
  get events(): TimedEvent[] {
    return this.#events ?? NONE;
  }
  get links(): Link[] {
    return this.#links ?? NONE;
  }
  get droppedAttributesCount(): number {
    return this.#droppedAttributes;
  }
  get droppedEventsCount(): number {
    return 0;
  }
  get droppedLinksCount(): number {
    return 0;
  }

  // --- Span ---------------------------------------------------------------------------------------

  /** The mesh's own attributes: no value check, the caller guarantees a valid one. */
  setKnownAttribute(key: string, value: AttributeValue): void {
    if (this.#ended) return;
    this.#attributesSet = true;
    if (--this.#room < 0) {
      this.#room++;
      this.setAttribute(key, value);
      return;
    }
    this.attributes[key] = value;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (this.#ended || key.length === 0 || !isAttributeValue(value)) return this;
    if (this.#room <= 0) {
      this.#room = ATTRIBUTE_COUNT_LIMIT - Object.keys(this.attributes).length;
      if (this.#room <= 0 && !Object.hasOwn(this.attributes, key)) {
        this.#droppedAttributes++;
        return this;
      }
    }
    this.#room--;
    this.#attributesSet = true;
    this.attributes[key] = value;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key of Object.keys(attributes)) {
      const v = attributes[key];
      if (v !== undefined) this.setAttribute(key, v);
    }
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.#ended) return this;
    let attributes: Attributes | undefined;
    if (attributesOrTime instanceof Date || typeof attributesOrTime === 'number' || isHrTime(attributesOrTime)) {
      time ??= attributesOrTime;
    } else {
      attributes = attributesOrTime;
    }
    const at = time === undefined ? performance.now() : relativeMs(time, this.#origin);
    const event: TimedEvent = { name, time: hrTimeAt(this.#origin, at), droppedAttributesCount: 0 };
    if (attributes !== undefined) event.attributes = { ...attributes };
    (this.#events ??= []).push(event);
    return this;
  }

  addLink(link: Link): this {
    if (!this.#ended) (this.#links ??= []).push(link);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  // As the SDK: UNSET never overrides, OK is final, a message only with ERROR.
  setStatus(status: SpanStatus): this {
    if (this.#ended || status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    this.status =
      status.code === SpanStatusCode.ERROR && typeof status.message === 'string'
        ? { code: status.code, message: status.message }
        : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.#ended) this.name = name;
    return this;
  }

  /**
   * The mesh's own spans: ends the span with `attributes` (the ones it started with plus its
   * outcome; valid values, at most as many keys as it was started for) as its attributes, one
   * object built at once instead of keys added one by one. Anything set on the span since its
   * start (a span processor's onStart, say) is kept: the outcome is then merged in.
   */
  endWith(attributes: Attributes, endTime?: TimeInput): void {
    if (this.#ended) return;
    if (!this.#attributesSet) this.attributes = attributes;
    else for (const key of Object.keys(attributes)) this.setKnownAttribute(key, attributes[key]!);
    this.end(endTime);
  }

  end(endTime?: TimeInput): void {
    if (this.#ended) return;
    const end = endTime === undefined ? performance.now() : relativeMs(endTime, this.#origin);
    if (end < this.#start) {
      this.#end = this.#start; // as the SDK: an end before the start is a zero duration
      this.#exactEnd = this.#exactStart;
    } else {
      this.#end = end;
      if (endTime !== undefined && isHrTime(endTime)) this.#exactEnd = [endTime[0], endTime[1]];
    }
    const processors = this.#sink.processors;
    for (let i = 0; i < processors.length; i++) processors[i]!.onEnding?.(this);
    this.#ended = true;
    for (let i = 0; i < processors.length; i++) processors[i]!.onEnd(this);
  }

  isRecording(): boolean {
    return !this.#ended;
  }

  // The exception event as the SDK writes it (exception.type / .message / .stacktrace).
  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') {
      attributes['exception.message'] = exception;
    } else if (exception !== undefined && exception !== null) {
      const type = exception.code !== undefined ? String(exception.code) : exception.name;
      if (type !== undefined) attributes['exception.type'] = type;
      if (exception.message !== undefined) attributes['exception.message'] = exception.message;
      if (exception.stack !== undefined) attributes['exception.stacktrace'] = exception.stack;
    }
    if (attributes['exception.type'] !== undefined || attributes['exception.message'] !== undefined)
      this.addEvent('exception', attributes, time);
  }
}
