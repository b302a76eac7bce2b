/**
 * The pack's entry point for the Pulumi CLI (`pulumi preview --policy-pack policies`). Constructing
 * a PolicyPack starts the analyzer's gRPC server: that is this file's only job, so nothing else
 * imports it (the tests and `npm run policy` import `./pack`).
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_DESCRIPTION, PACK_NAME, policies } from "./pack";

new PolicyPack(PACK_NAME, { policies, description: PACK_DESCRIPTION, provider: "aws", tags: ["aws", "serverless"] });
