/**
 * Step Functions for the local cloud: the AWS JSON 1.0 API of the states service, served on
 * 127.0.0.1 and backed by aws-local-stepfunctions.
 *
 * Why our own front: aws-local-stepfunctions is a library (run a definition, get a result), not a
 * service, and the local cloud needs the service: the API handler Lambda calls StartExecution
 * through the SDK, the integration suite polls DescribeExecution, and users point the AWS CLI at
 * the endpoint. The engine never calls AWS itself: every Task state is given a local override
 * that asks our resolver (registered handlers, then `resolveTask`), so the local cloud decides
 * what `arn:aws:states:::lambda:invoke` or `arn:aws:states:::sqs:sendMessage` means.
 *
 * Modules:
 * - emulator.ts: {@link StepFunctionsEmulator}, the HTTP front, and {@link startStepFunctions};
 * - api.ts: the API operations (CreateStateMachine, StartExecution, DescribeExecution, ...);
 * - wire.ts: the JSON protocol: request fields, paging, dates, payload limits;
 * - store.ts: state machines and executions in memory;
 * - definition.ts: validating a definition and preparing it for the engine;
 * - runner.ts: running an execution on the engine, with local Task handlers;
 * - task-handlers.ts: the Task handler contract and the handler table;
 * - history.ts: the execution history events;
 * - errors.ts: API errors and States errors.
 *
 * This index exports the emulator and its public contract: what local/emulators/index.ts,
 * local/cloud.ts and local/provision/sfn.ts use, and the types of its public methods.
 */
export { LOCAL_ACCOUNT_ID } from "./api";
export { StepFunctionsEmulator, startStepFunctions } from "./emulator";
export type { StepFunctionsOptions } from "./emulator";
export { StepFunctionsApiError } from "./errors";
export type { TimingOverrides } from "./runner";
export type { ExecutionDescription, ExecutionStatus } from "./store";
export { NO_TASK_HANDLER, TaskFailedError } from "./task-handlers";
export type { ExecutionContextObject, TaskContext, TaskHandler, TaskHandlerOptions, TaskResolver } from "./task-handlers";
