/** The error a local function invocation fails with (its own module, so the account's concurrency pool can throw it too). */
/**
 * An invocation that failed: the handler threw, timed out, its environment died, or the bundle did
 * not load (`source: "function"`); or Lambda refused to run it, e.g. throttled (`source:
 * "service"`: Step Functions names these `Lambda.<errorType>`).
 */
export class FunctionError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    readonly functionName: string,
    readonly source: "function" | "service" = "function",
  ) {
    super(message);
    this.name = errorType;
  }
}
