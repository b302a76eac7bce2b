// The local API Gateway service: what the local cloud (local/cloud.ts) and the provisioners
// (local/provision/apigateway.ts) use of it.
export { ApiGatewayRegistry, INTEGRATION_TIMEOUT_MS, compileModelSchema, methodKey } from "./registry";
export type { LambdaInvoker } from "./registry";
