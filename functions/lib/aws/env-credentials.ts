/**
 * What the bundles use in place of the AWS SDK's default credential chain
 * (`@aws-sdk/credential-provider-node`; components/lib/bundle.ts aliases that package to this
 * module): the environment provider alone.
 *
 * Lambda hands a function its execution role's credentials in `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, and the local cloud gives each function its own
 * key the same way. The rest of the default chain (SSO, INI profiles, `credential_process`, web
 * identity, the container and instance metadata endpoints) is never reached there, yet it is about
 * 90 KiB of every bundle, `@aws-sdk/nested-clients` (STS, SSO-OIDC) included. Missing variables
 * fail the first AWS call with the SDK's own `CredentialsProviderError`, naming them.
 */
import { fromEnv } from "@aws-sdk/credential-provider-env";
import type { FromEnvInit } from "@aws-sdk/credential-provider-env";

/** The signature of `@aws-sdk/credential-provider-node`'s `defaultProvider`, which the clients call. */
export const defaultProvider = (init: FromEnvInit = {}) => fromEnv(init);
