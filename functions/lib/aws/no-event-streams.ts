/**
 * What the bundles carry in place of `@smithy/core/event-streams` (components/lib/bundle.ts aliases
 * it here). The SDK's protocols import it only to send or read an event stream (Bedrock's or
 * Transcribe's streaming operations, S3 SelectObjectContent, ...), with `import()` when such an
 * operation runs; none of the operations these functions call (DynamoDB, SQS, Step Functions,
 * SSM) streams events, yet esbuild keeps the module and its codec in every bundle (about 15 KiB).
 * An operation that does stream fails with this message instead of a missing module.
 */
const MESSAGE =
  "AWS event streams are not bundled into functions (components/lib/bundle.ts aliases @smithy/core/event-streams away): remove the alias to call an operation that streams events";

/** Refuses to build, as the protocol's `loadEventStreamCapability` would construct it. */
export class EventStreamSerde {
  constructor() {
    throw new Error(MESSAGE);
  }
}

/** Refuses to provide a marshaller. */
export function eventStreamSerdeProvider(): never {
  throw new Error(MESSAGE);
}
