/**
 * The local cloud's IAM as the provisioners use it (`LocalIamHooks`): a function's environment gets
 * its role session's credentials, and the state machine's Tasks call the emulators through the
 * gateway with clients signed as its role (one set per session, kept for the run).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { EmulatorEndpoints } from "../emulators";
import type { LocalIamHooks } from "../provision/context";
import { sessionPrincipal } from "./credentials";
import type { LocalIam } from "./index";

/**
 * @param endpoints - The gateway's endpoints (where the functions' calls go).
 * @returns the hooks, and `destroy()` for the clients they made.
 */
export function iamHooks(iam: LocalIam, endpoints: EmulatorEndpoints, region: string): LocalIamHooks & { destroy(): void } {
  const clients = new Map<string, { sns: SNSClient; sqs: SQSClient; dynamodb: DynamoDBClient }>();
  return {
    functionCredentials: (functionName, roleArn) => {
      const { accessKeyId, secretAccessKey } = iam.credentials.issue(functionName, roleArn);
      return { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey };
    },
    clientsAs: (roleArn, sessionName) => {
      const key = `${roleArn} ${sessionName}`;
      let set = clients.get(key);
      if (!set) {
        const { accessKeyId, secretAccessKey } = iam.credentials.issue(sessionName, roleArn);
        const config = (endpoint: string) => ({ endpoint, region, credentials: { accessKeyId, secretAccessKey } });
        set = { sns: new SNSClient(config(endpoints.sns)), sqs: new SQSClient(config(endpoints.sqs)), dynamodb: new DynamoDBClient(config(endpoints.dynamodb)) };
        clients.set(key, set);
      }
      return set;
    },
    invokeRefusal: (roleArn, sessionName, functionArn) => iam.authorize(sessionPrincipal(roleArn, sessionName), [{ action: "lambda:InvokeFunction", resource: functionArn }], undefined, sessionName)?.message,
    destroy: () => {
      for (const set of clients.values()) for (const client of Object.values(set)) client.destroy();
    },
  };
}
