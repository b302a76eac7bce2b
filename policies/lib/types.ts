/**
 * Type tokens of the resources the pack inspects. Policies match by type, never by resource name,
 * so they apply to whatever the program declares (today's bus, the order unit, alarms later).
 *
 * The pack deliberately does not import `@pulumi/aws`: it stays light to load under the CLI and
 * reads the same plain properties the engine sends.
 */
export const T = {
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  redriveAllowPolicy: "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
  topic: "aws:sns/topic:Topic",
  topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  table: "aws:dynamodb/table:Table",
  key: "aws:kms/key:Key",
  keyPolicy: "aws:kms/keyPolicy:KeyPolicy",
  alias: "aws:kms/alias:Alias",
  function: "aws:lambda/function:Function",
  permission: "aws:lambda/permission:Permission",
  eventSourceMapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  policy: "aws:iam/policy:Policy",
  rolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  policyAttachment: "aws:iam/policyAttachment:PolicyAttachment",
  userPolicy: "aws:iam/userPolicy:UserPolicy",
  groupPolicy: "aws:iam/groupPolicy:GroupPolicy",
  userPolicyAttachment: "aws:iam/userPolicyAttachment:UserPolicyAttachment",
  groupPolicyAttachment: "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  logResourcePolicy: "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
  metricAlarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  compositeAlarm: "aws:cloudwatch/compositeAlarm:CompositeAlarm",
  eventTarget: "aws:cloudwatch/eventTarget:EventTarget",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  stateMachine: "aws:sfn/stateMachine:StateMachine",
  restApi: "aws:apigateway/restApi:RestApi",
  method: "aws:apigateway/method:Method",
  integration: "aws:apigateway/integration:Integration",
  stage: "aws:apigateway/stage:Stage",
  methodSettings: "aws:apigateway/methodSettings:MethodSettings",
  usagePlan: "aws:apigateway/usagePlan:UsagePlan",
  apiGatewayAccount: "aws:apigateway/account:Account",
  httpApi: "aws:apigatewayv2/api:Api",
  route: "aws:apigatewayv2/route:Route",
  httpIntegration: "aws:apigatewayv2/integration:Integration",
  httpStage: "aws:apigatewayv2/stage:Stage",
} as const;

/** Physical name limits that AWS enforces at create time (and the mock runtime does not). */
export interface NameRule {
  /** What AWS calls it, for messages. */
  what: string;
  min: number;
  max: number;
  /** Allowed characters (whole name), with a human description. */
  pattern: RegExp;
  chars: string;
  /** The property that holds the name. @default "name" */
  property?: string;
}

export const NAME_RULES: Record<string, NameRule> = {
  [T.queue]: { what: "SQS queue name", min: 1, max: 80, pattern: /^[A-Za-z0-9_-]+(\.fifo)?$/, chars: "letters, digits, '-' and '_' (plus the '.fifo' suffix)" },
  [T.topic]: { what: "SNS topic name", min: 1, max: 256, pattern: /^[A-Za-z0-9_-]+(\.fifo)?$/, chars: "letters, digits, '-' and '_' (plus the '.fifo' suffix)" },
  [T.function]: { what: "Lambda function name", min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/, chars: "letters, digits, '-' and '_'" },
  [T.role]: { what: "IAM role name", min: 1, max: 64, pattern: /^[\w+=,.@-]+$/, chars: "letters, digits and '+=,.@_-'" },
  [T.policy]: { what: "IAM policy name", min: 1, max: 128, pattern: /^[\w+=,.@-]+$/, chars: "letters, digits and '+=,.@_-'" },
  [T.rolePolicy]: { what: "IAM inline policy name", min: 1, max: 128, pattern: /^[\w+=,.@-]+$/, chars: "letters, digits and '+=,.@_-'" },
  [T.table]: { what: "DynamoDB table name", min: 3, max: 255, pattern: /^[A-Za-z0-9_.-]+$/, chars: "letters, digits, '.', '-' and '_'" },
  [T.logGroup]: { what: "CloudWatch log group name", min: 1, max: 512, pattern: /^[A-Za-z0-9_.\-/#]+$/, chars: "letters, digits and '._-/#'" },
  [T.stateMachine]: { what: "Step Functions state machine name", min: 1, max: 80, pattern: /^[A-Za-z0-9_-]+$/, chars: "letters, digits, '-' and '_'" },
  [T.alias]: { what: "KMS alias name", min: 7, max: 256, pattern: /^alias\/(?!aws\/)[A-Za-z0-9/_-]+$/, chars: "'alias/' then letters, digits and '/_-' (not 'alias/aws/')" },
  [T.metricAlarm]: { what: "CloudWatch alarm name", min: 1, max: 255, pattern: /^[^\p{Cc}]+$/u, chars: "printable characters", property: "name" },
  [T.dashboard]: { what: "CloudWatch dashboard name", min: 1, max: 255, pattern: /^[A-Za-z0-9_-]+$/, chars: "letters, digits, '-' and '_'", property: "dashboardName" },
};

/** Length of the random suffix Pulumi's autonaming appends (`-` plus 7 hex characters). */
export const AUTONAME_SUFFIX = 8;
