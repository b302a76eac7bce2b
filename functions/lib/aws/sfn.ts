/** The Step Functions client (see `traced.ts`). */
import { SFNClient } from "@aws-sdk/client-sfn";
import { traced } from "./traced";

let client: SFNClient | undefined;

/** The Step Functions client, created on first use. */
export const sfnClient = (): SFNClient => (client ??= traced(new SFNClient({})));
