// Istio regex fields are RE2 (Envoy's safe_regex). Checking them here turns a bad pattern into a
// config problem instead of a NACK from every client.
import { RE2JS } from 're2js';

/** `undefined` when `pattern` is valid RE2, else the compiler's message. */
export function re2SyntaxError(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
