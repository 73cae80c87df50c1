// Reads the spans a service printed with OpenTelemetry's ConsoleSpanExporter back from its output
// lines: the exporter console.dir()s one object per span, `{` and `}` on lines of their own and
// the span's own fields indented by two spaces. Only what the launcher reports is kept.
export const SPAN_KIND = { 0: 'INTERNAL', 1: 'SERVER', 2: 'CLIENT', 3: 'PRODUCER', 4: 'CONSUMER' } as const;

export interface PrintedSpan {
  readonly name: string;
  readonly kind: string;
  readonly traceId: string;
  readonly spanId: string;
  /** undefined for a root span */
  readonly parentSpanId: string | undefined;
}

export class ConsoleSpans {
  readonly spans: PrintedSpan[] = [];
  #block: string[] | undefined;

  /** Feeds one output line; returns the span it completed, if any. */
  line(line: string): PrintedSpan | undefined {
    if (line === '{') {
      this.#block = [];
      return undefined;
    }
    if (this.#block === undefined) return undefined;
    if (line !== '}') {
      this.#block.push(line);
      return undefined;
    }
    const span = parse(this.#block);
    this.#block = undefined;
    if (span !== undefined) this.spans.push(span);
    return span;
  }

  count(kind: string): number {
    return this.spans.filter((s) => s.kind === kind).length;
  }
}

function parse(lines: readonly string[]): PrintedSpan | undefined {
  const own = (field: string) => {
    for (const l of lines) {
      const m = new RegExp(`^  ${field}: '?([^',]*)'?,?$`).exec(l);
      if (m !== null) return m[1];
    }
    return undefined;
  };
  // parentSpanContext is an object (its spanId indented by four spaces) or `undefined`
  const start = lines.findIndex((l) => l.startsWith('  parentSpanContext: {'));
  let parentSpanId: string | undefined;
  if (start >= 0) {
    for (const l of lines.slice(start + 1)) {
      if (l.startsWith('  }')) break;
      const m = /^ {4}spanId: '([0-9a-f]+)'/.exec(l);
      if (m !== null) parentSpanId = m[1];
    }
  }
  const traceId = own('traceId');
  const spanId = own('id');
  const kind = SPAN_KIND[Number(own('kind')) as keyof typeof SPAN_KIND];
  if (traceId === undefined || spanId === undefined || kind === undefined) return undefined;
  return { name: own('name') ?? '', kind, traceId, spanId, parentSpanId };
}
