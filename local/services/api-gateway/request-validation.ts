/**
 * Request validators: a method with a validator gets its required parameters checked (400
 * `Missing required request parameters: [...]`) and its body checked against the request model of
 * the body's content type (400 `{"message": "Invalid request body"}`). The validator's messages
 * travel on the error, for `$context.error.validationErrorString` and the log.
 */
import { HttpError } from "./gateway-responses";
import type { ApiMethod, RestApi } from "./rest-api";
import { lastHeader } from "./request";
import type { HeaderSets } from "./request";

/** The parts of a request the validators look at. */
export interface RequestParts {
  headers: HeaderSets;
  query: HeaderSets;
  pathParameters: Record<string, string>;
  body: string;
}

/**
 * Runs the method's request validator, if it has one: parameters first, then the body.
 * @throws {HttpError} 400 `BAD_REQUEST_PARAMETERS` or `BAD_REQUEST_BODY`.
 */
export function validateRequest(api: RestApi, method: ApiMethod, request: RequestParts): void {
  const validator = method.requestValidatorId ? api.validators.get(method.requestValidatorId) : undefined;
  if (validator?.validateRequestParameters) validateParameters(method, request);
  if (validator?.validateRequestBody) validateBody(api, method, request);
}

/** `method.request.<where>.<name>` marked required must be present. */
function validateParameters(method: ApiMethod, { headers, query, pathParameters }: RequestParts): void {
  const missing = Object.entries(method.requestParameters)
    .filter(([, required]) => required)
    .map(([name]) => name.split("."))
    .filter(([, , where, name]) => {
      if (!name) return false;
      if (where === "querystring") return !query.multi[name];
      if (where === "header") return lastHeader(headers, name) === undefined;
      if (where === "path") return !pathParameters[name];
      return false;
    })
    .map((parts) => parts[3]);
  if (missing.length) {
    const message = `Missing required request parameters: [${missing.join(", ")}]`;
    throw new HttpError(400, "BAD_REQUEST_PARAMETERS", message, "BadRequestException", [message]);
  }
}

/** The body must be JSON valid against the model of its content type (no model: anything goes). */
function validateBody(api: RestApi, method: ApiMethod, { headers, body }: RequestParts): void {
  const contentType = (lastHeader(headers, "content-type") ?? "application/json").split(";")[0]!.trim().toLowerCase();
  const modelName = method.requestModels[contentType] ?? method.requestModels.$default;
  const model = modelName ? api.models.get(modelName) : undefined;
  if (!model) return;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new HttpError(400, "BAD_REQUEST_BODY", "Invalid request body", "BadRequestException", [`the body is not valid JSON (${(error as Error).message})`]);
  }
  const errors = model.validate(value);
  if (errors.length) throw new HttpError(400, "BAD_REQUEST_BODY", "Invalid request body", "BadRequestException", errors);
}
