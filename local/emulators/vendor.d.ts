// Types for the two emulator packages that ship none; only what local/emulators uses.

declare module "dynalite" {
  import type { Server } from "node:http";

  /** Options of dynalite 4 (see node_modules/dynalite/index.js). */
  interface DynaliteOptions {
    /** Milliseconds a new table stays CREATING. @default 500 */
    createTableMs?: number;
    /** Milliseconds a deleted table stays DELETING. @default 500 */
    deleteTableMs?: number;
    /** Milliseconds an updated table stays UPDATING. @default 500 */
    updateTableMs?: number;
    /** Maximum item size in KB. @default 400 */
    maxItemSizeKb?: number;
    /** LevelDB directory; in memory when omitted. */
    path?: string;
    verbose?: boolean;
    debug?: boolean;
  }

  /** Creates (does not start) a DynamoDB-compatible HTTP server. */
  function dynalite(options?: DynaliteOptions): Server;
  export = dynalite;
}

declare module "asl-validator" {
  /** One problem found in a definition. */
  interface AslValidationError {
    "Error code": string;
    Message: string;
  }

  /** Result of {@link validator}. */
  interface AslValidationResult {
    isValid: boolean;
    errors: AslValidationError[];
    errorsText(separator?: string): string;
  }

  /**
   * Validates an Amazon States Language definition. Note: it writes a default `QueryLanguage`
   * into every state of the object it is given.
   */
  function validator(
    definition: unknown,
    options?: { checkPaths?: boolean; checkArn?: boolean },
  ): AslValidationResult;
  export = validator;
}
