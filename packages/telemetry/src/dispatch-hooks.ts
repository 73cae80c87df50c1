// The request-start and attempt hooks of the outbound dispatch path (published by @inboard/http).
export {
  ATTEMPT_END_CHANNEL,
  ATTEMPT_START_CHANNEL,
  type AttemptEvent,
  REQUEST_START_CHANNEL,
  type RequestStartEvent,
} from '@inboard/http';

export type HeaderRecord = Record<string, string | string[]>;
