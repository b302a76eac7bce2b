// Types for an emulator package that ships none; only what local/emulators uses.

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
