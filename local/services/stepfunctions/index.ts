// The local Step Functions service: the emulator, its options and the Task handler contract.
export { LOCAL_ACCOUNT_ID, NO_TASK_HANDLER, StepFunctionsApiError, StepFunctionsEmulator, TaskFailedError, startStepFunctions } from "./emulator";
export type {
  ExecutionContextObject,
  ExecutionDescription,
  ExecutionStatus,
  StepFunctionsOptions,
  TaskContext,
  TaskHandler,
  TaskResolver,
  TimingOverrides,
} from "./emulator";
