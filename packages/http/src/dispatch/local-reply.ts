// A local reply for a request that never became an Exchange (a host the mesh rejects): the
// whole handler lifecycle (start, headers, body, end) driven from here, asynchronously, with
// pause and abort honoured as undici's own connections honour them.
import { STATUS_CODES } from 'node:http';
import type { Dispatcher } from 'undici';
import { formatResponseFlags } from '../retry/response-flags.ts';
import type { MeshHttpError } from './errors.ts';
import { RESPONSE_FLAGS_HEADER } from './exchange.ts';
import { toRawHeaders } from './header-record.ts';
import { LocalTarget, MeshController } from './mesh-controller.ts';

export function replyLocally(handler: Dispatcher.DispatchHandler, err: MeshHttpError, flagsHeader: boolean): void {
  let done = false;
  const controller: MeshController = new MeshController({
    onUserAbort(reason) {
      if (done) return;
      done = true;
      queueMicrotask(() => handler.onResponseError?.(controller, reason));
    },
  });
  const body = Buffer.from(err.replyBody, 'utf8');
  const headers: Record<string, string> = {
    'content-type': 'text/plain',
    'content-length': String(body.length),
  };
  if (flagsHeader && err.responseFlags.length > 0)
    headers[RESPONSE_FLAGS_HEADER] = formatResponseFlags(err.responseFlags);
  const local = new LocalTarget();
  controller.setTarget(local, toRawHeaders(headers));
  const fail = (e: unknown) => {
    if (done) return;
    done = true;
    handler.onResponseError?.(controller, e instanceof Error ? e : new Error(String(e)));
  };
  queueMicrotask(() => {
    try {
      handler.onRequestStart?.(controller, null);
      if (done) return;
      handler.onResponseStart?.(controller, err.status, headers, STATUS_CODES[err.status] ?? '');
    } catch (e) {
      fail(e);
      return;
    }
    local.whenFlowing(() => {
      if (done) return;
      try {
        handler.onResponseData?.(controller, body);
      } catch (e) {
        fail(e);
        return;
      }
      local.whenFlowing(() => {
        if (done) return;
        done = true;
        handler.onResponseEnd?.(controller, {});
      });
    });
  });
}
