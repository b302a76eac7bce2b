// One Lambda execution environment: a fresh Node process that loads a function's bundle (the deploy
// artifact) and runs one invocation at a time, as the Lambda runtime does. Plain JavaScript so it
// starts without a TypeScript loader. Requests and results travel over the IPC channel.
"use strict";
const { randomUUID } = require("node:crypto");

const bundle = process.env.LOCAL_FUNCTION_BUNDLE;
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME;
const timeoutMs = Number(process.env.AWS_LAMBDA_FUNCTION_TIMEOUT || "30") * 1000;
let handler;
try {
  handler = require(bundle).handler;
  if (typeof handler !== "function") throw new Error(`${bundle} does not export a function named "handler"`);
} catch (error) {
  process.send({ type: "init-error", error: serialize(error) });
  process.exit(1);
}
process.send({ type: "ready" });
// The host is gone (it crashed, or was killed without stopping its functions): so is this environment.
process.on("disconnect", () => process.exit(0));

process.on("message", async (request) => {
  if (request.type !== "invoke") return;
  // Tells the host the invocation reached this environment: if it dies from here on, the
  // invocation failed here (Runtime.ExitError); before, the host gives it to another environment.
  process.send({ type: "started", id: request.id });
  const started = Date.now();
  const context = {
    functionName,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION || "$LATEST",
    invokedFunctionArn: process.env.LOCAL_FUNCTION_ARN,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: request.requestId || randomUUID(),
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    const result = await handler(request.event, context);
    process.send({ type: "result", id: request.id, result: result === undefined ? null : result });
  } catch (error) {
    process.send({ type: "error", id: request.id, error: serialize(error) });
  }
});

function serialize(error) {
  if (error instanceof Error) return { errorType: error.name, errorMessage: error.message, stack: error.stack };
  return { errorType: "Error", errorMessage: String(error) };
}
