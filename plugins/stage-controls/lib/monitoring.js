'use strict';

// Generates the alarms, the alarm topic's e-mail subscriptions and the dashboard from the
// compiled template, so every function, dead-letter queue, state machine, stream and HTTP
// API any part of serverless.yml adds is covered without a line of YAML per resource.
// Thresholds and recipients come from the stage config's `monitoring` section.

const crypto = require('node:crypto');

const TOPIC_ID = 'AlarmTopic';
// What the alarm topic could not deliver to its e-mail subscribers is kept here (an alarm on
// its depth, like every dead-letter queue's, shows on the dashboard and the console).
const TOPIC_DLQ_ID = 'AlarmTopicDeadLetterQueue';

function textOf(value) {
  if (typeof value === 'string') return value;
  if (value && typeof value['Fn::Sub'] === 'string') return value['Fn::Sub'];
  return null;
}

function targetOf(value) {
  if (!value || typeof value !== 'object') return null;
  if (typeof value.Ref === 'string') return value.Ref;
  if (Array.isArray(value['Fn::GetAtt'])) return value['Fn::GetAtt'][0];
  return null;
}

function byType(resources, type) {
  return Object.entries(resources).filter(([, r]) => r && r.Type === type);
}

// Queues that hold what failed elsewhere: named *-dlq, a redrive policy's target, an
// on-failure destination (async invocation, stream mapping) or a function's DeadLetterConfig.
// gates/template.py's dead_letter_queue_ids is the same rule; the monitoring gate checks it.
function deadLetterQueueIds(resources) {
  const queues = new Set(byType(resources, 'AWS::SQS::Queue').map(([id]) => id));
  const ids = new Set();
  for (const [id, resource] of Object.entries(resources)) {
    const props = (resource && resource.Properties) || {};
    if (queues.has(id) && (textOf(props.QueueName) || '').endsWith('-dlq')) ids.add(id);
    const pointers = [
      props.RedrivePolicy && props.RedrivePolicy.deadLetterTargetArn,
      props.DestinationConfig && props.DestinationConfig.OnFailure && props.DestinationConfig.OnFailure.Destination,
      props.DeadLetterConfig && props.DeadLetterConfig.TargetArn,
    ];
    for (const pointer of pointers) {
      const target = targetOf(pointer);
      if (target && queues.has(target)) ids.add(target);
    }
  }
  return [...ids].sort();
}

function alarm(ctx, { id, name, description, namespace, metric, dimensions, statistic, threshold }) {
  return [
    id,
    {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `${ctx.prefix}-${name}`,
        AlarmDescription: description,
        Namespace: namespace,
        MetricName: metric,
        Dimensions: dimensions,
        Statistic: statistic,
        Period: ctx.monitoring.periodSeconds,
        EvaluationPeriods: 1,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: TOPIC_ID }],
        OKActions: [{ Ref: TOPIC_ID }],
      },
    },
  ];
}

function functionAlarms(ctx, id, fn) {
  const props = fn.Properties || {};
  const name = textOf(props.FunctionName) || id;
  const short = name.startsWith(`${ctx.prefix}-`) ? name.slice(ctx.prefix.length + 1) : id;
  const timeoutMs = (Number(props.Timeout) || 3) * 1000;
  const dimensions = [{ Name: 'FunctionName', Value: { Ref: id } }];
  const base = { namespace: 'AWS/Lambda', dimensions };
  const m = ctx.monitoring;
  return [
    alarm(ctx, {
      ...base,
      id: `${id}ErrorsAlarm`,
      name: `${short}-errors`,
      description: `${name}: ${m.functionErrors} or more errors in ${m.periodSeconds} s`,
      metric: 'Errors',
      statistic: 'Sum',
      threshold: m.functionErrors,
    }),
    alarm(ctx, {
      ...base,
      id: `${id}ThrottlesAlarm`,
      name: `${short}-throttles`,
      description: `${name}: invocations throttled (reserved or account concurrency reached)`,
      metric: 'Throttles',
      statistic: 'Sum',
      threshold: 1,
    }),
    alarm(ctx, {
      ...base,
      id: `${id}DurationAlarm`,
      name: `${short}-duration-near-timeout`,
      description: `${name}: a run took ${m.durationPercentOfTimeout} % of its ${timeoutMs / 1000} s timeout`,
      metric: 'Duration',
      statistic: 'Maximum',
      threshold: Math.round((timeoutMs * m.durationPercentOfTimeout) / 100),
    }),
  ];
}

// An alarm on the maximum of one SQS metric of a queue, its description led by the queue's name.
function sqsAlarm(ctx, queueId, queue, { suffix, metric, threshold, says }) {
  const name = textOf((queue.Properties || {}).QueueName) || queueId;
  return alarm(ctx, {
    id: `${queueId}${suffix.id}Alarm`,
    name: `${queueId}-${suffix.name}`,
    description: `${name}: ${says}`,
    namespace: 'AWS/SQS',
    metric,
    dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
    statistic: 'Maximum',
    threshold,
  });
}

function queueAlarm(ctx, id, queue) {
  return sqsAlarm(ctx, id, queue, {
    suffix: { id: 'Depth', name: 'depth' },
    metric: 'ApproximateNumberOfMessagesVisible',
    threshold: ctx.monitoring.dlqDepth,
    says: `${ctx.monitoring.dlqDepth} or more dead letters waiting; inspect and redrive`,
  });
}

function stateMachineAlarms(ctx, id) {
  const dimensions = [{ Name: 'StateMachineArn', Value: { Ref: id } }];
  const base = { namespace: 'AWS/States', dimensions, statistic: 'Sum', threshold: 1 };
  return [
    alarm(ctx, {
      ...base,
      id: `${id}ThrottledAlarm`,
      name: `${id}-executions-throttled`,
      description: `${id}: Step Functions throttled an execution (StartExecution or state transition quota)`,
      metric: 'ExecutionsThrottled',
    }),
    alarm(ctx, {
      ...base,
      id: `${id}AbortedAlarm`,
      name: `${id}-executions-aborted`,
      description: `${id}: an execution was stopped (aborted) before it finished; the sweep or a person stopped it`,
      metric: 'ExecutionsAborted',
    }),
    alarm(ctx, {
      ...base,
      id: `${id}FailedAlarm`,
      name: `${id}-executions-failed`,
      description: `${id}: an execution failed`,
      metric: 'ExecutionsFailed',
    }),
    alarm(ctx, {
      ...base,
      id: `${id}TimedOutAlarm`,
      name: `${id}-executions-timed-out`,
      description: `${id}: an execution timed out`,
      metric: 'ExecutionsTimedOut',
    }),
  ];
}

// The function an event source mapping invokes (an alias stands for its function) and the
// kind of its source: 'dynamodb' (a table's StreamArn), 'kinesis' or 'sqs'.
function mappingParts(resources, mapping) {
  const props = mapping.Properties || {};
  let fn = targetOf(props.FunctionName);
  const alias = fn && resources[fn];
  if (alias && alias.Type === 'AWS::Lambda::Alias') fn = targetOf((alias.Properties || {}).FunctionName);
  const source = props.EventSourceArn;
  const sourceId = targetOf(source);
  const sourceType = sourceId && resources[sourceId] ? resources[sourceId].Type : '';
  const text = JSON.stringify(source || '');
  let kind = null;
  if (sourceType === 'AWS::DynamoDB::Table' || text.includes(':dynamodb:')) kind = 'dynamodb';
  else if (sourceType === 'AWS::Kinesis::Stream' || text.includes(':kinesis:')) kind = 'kinesis';
  else if (sourceType === 'AWS::SQS::Queue') kind = 'sqs';
  return { fn, kind, sourceId };
}

// A DynamoDB stream's consumer falls behind (records near the stream's 24 h retention are
// lost): Lambda's IteratorAge of the consuming function.
function consumerIteratorAgeAlarm(ctx, fnId) {
  return alarm(ctx, {
    id: `${fnId}IteratorAgeAlarm`,
    name: `${fnId}-iterator-age`,
    description: `${fnId}: stream records wait more than ${ctx.monitoring.iteratorAgeMs} ms to be processed`,
    namespace: 'AWS/Lambda',
    metric: 'IteratorAge',
    dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
    statistic: 'Maximum',
    threshold: ctx.monitoring.iteratorAgeMs,
  });
}

// A consumed queue whose oldest message keeps ageing: its consumer fails, is throttled, or
// waits behind an open breaker (the depth of its dead-letter queue says nothing until then).
function oldestMessageAlarm(ctx, queueId, queue) {
  const seconds = ctx.monitoring.oldestMessageSeconds;
  return sqsAlarm(ctx, queueId, queue, {
    suffix: { id: 'OldestMessage', name: 'oldest-message' },
    metric: 'ApproximateAgeOfOldestMessage',
    threshold: seconds,
    says: `a message has waited ${seconds} s or more for its consumer`,
  });
}

function consumerAlarms(ctx, resources) {
  const dynamoConsumers = new Set();
  const queues = new Set();
  for (const [, mapping] of byType(resources, 'AWS::Lambda::EventSourceMapping')) {
    const { fn, kind, sourceId } = mappingParts(resources, mapping);
    if (kind === 'dynamodb' && fn) dynamoConsumers.add(fn);
    if (kind === 'sqs') queues.add(sourceId);
  }
  const dlqs = new Set(deadLetterQueueIds(resources));
  return [
    ...[...dynamoConsumers].sort().map((fn) => consumerIteratorAgeAlarm(ctx, fn)),
    ...[...queues].filter((q) => !dlqs.has(q)).sort().map((q) => oldestMessageAlarm(ctx, q, resources[q])),
  ];
}

function streamAlarm(ctx, id) {
  return alarm(ctx, {
    id: `${id}IteratorAgeAlarm`,
    name: `${id}-iterator-age`,
    description: `${id}: records wait more than ${ctx.monitoring.iteratorAgeMs} ms to be read`,
    namespace: 'AWS/Kinesis',
    metric: 'GetRecords.IteratorAgeMilliseconds',
    dimensions: [{ Name: 'StreamName', Value: { Ref: id } }],
    statistic: 'Maximum',
    threshold: ctx.monitoring.iteratorAgeMs,
  });
}

function api5xxAlarm(ctx, id) {
  const dimensions = [
    { Name: 'ApiId', Value: { Ref: id } },
    { Name: 'Stage', Value: '$default' },
  ];
  const stat = (metric) => ({
    Metric: { Namespace: 'AWS/ApiGateway', MetricName: metric, Dimensions: dimensions },
    Period: ctx.monitoring.periodSeconds,
    Stat: 'Sum',
  });
  return [
    `${id}5xxRateAlarm`,
    {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `${ctx.prefix}-${id}-5xx-rate`,
        AlarmDescription: `${id}: ${ctx.monitoring.api5xxPercent} % or more of requests answered 5xx`,
        Metrics: [
          { Id: 'errors', MetricStat: stat('5xx'), ReturnData: false },
          { Id: 'requests', MetricStat: stat('Count'), ReturnData: false },
          {
            Id: 'rate',
            Expression: 'IF(requests > 0, 100 * errors / requests, 0)',
            Label: '5xx percent',
            ReturnData: true,
          },
        ],
        EvaluationPeriods: 1,
        Threshold: ctx.monitoring.api5xxPercent,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: TOPIC_ID }],
        OKActions: [{ Ref: TOPIC_ID }],
      },
    },
  ];
}

function subscriptions(ctx, emails) {
  if (!emails.length) return [];
  const dlqArn = { 'Fn::GetAtt': [TOPIC_DLQ_ID, 'Arn'] };
  return [
    ...emails.map((email) => {
      const digest = crypto.createHash('sha256').update(email).digest('hex').slice(0, 10);
      return [
        `AlarmTopicSubscription${digest}`,
        {
          Type: 'AWS::SNS::Subscription',
          Properties: {
            TopicArn: { Ref: TOPIC_ID },
            Protocol: 'email',
            Endpoint: email,
            RedrivePolicy: { deadLetterTargetArn: dlqArn },
          },
        },
      ];
    }),
    [
      TOPIC_DLQ_ID,
      {
        Type: 'AWS::SQS::Queue',
        Properties: {
          QueueName: `${ctx.prefix}-alarm-delivery-dlq`,
          MessageRetentionPeriod: 1209600,
          SqsManagedSseEnabled: true,
        },
      },
    ],
    [
      `${TOPIC_DLQ_ID}Policy`,
      {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [{ Ref: TOPIC_DLQ_ID }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'AlarmTopicDeadLetters',
                Effect: 'Allow',
                Principal: { Service: 'sns.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: dlqArn,
                Condition: { ArnEquals: { 'aws:SourceArn': { Ref: TOPIC_ID } } },
              },
            ],
          },
        },
      },
    ],
  ];
}

function dashboard(ctx, resources) {
  const region = '${AWS::Region}';
  const widget = (title, metrics, y, stat = 'Sum') => ({
    type: 'metric',
    x: 0,
    y,
    width: 24,
    height: 6,
    properties: { title, region, stat, period: ctx.monitoring.periodSeconds, metrics },
  });
  const functions = byType(resources, 'AWS::Lambda::Function').map(([id]) => `\${${id}}`);
  const machines = byType(resources, 'AWS::StepFunctions::StateMachine').map(([id]) => `\${${id}}`);
  const queues = deadLetterQueueIds(resources).map((id) => `\${${id}.QueueName}`);
  const streams = byType(resources, 'AWS::Kinesis::Stream').map(([id]) => `\${${id}}`);
  const dlqIds = new Set(deadLetterQueueIds(resources));
  const consumed = [...new Set(byType(resources, 'AWS::Lambda::EventSourceMapping')
    .map(([, m]) => mappingParts(resources, m))
    .filter(({ kind, sourceId }) => kind === 'sqs' && !dlqIds.has(sourceId))
    .map(({ sourceId }) => sourceId))].sort().map((id) => `\${${id}.QueueName}`);
  const apis = byType(resources, 'AWS::ApiGatewayV2::Api').map(([id]) => `\${${id}}`);
  const widgets = [
    {
      type: 'text', x: 0, y: 0, width: 24, height: 2,
      properties: { markdown: `# ${ctx.prefix}\nAlarms go to the ${ctx.prefix} alarm topic. See docs/operations.md.` },
    },
  ];
  let y = 2;
  const add = (title, metrics, stat) => {
    if (metrics.length) widgets.push(widget(title, metrics, (y += 6) - 6, stat));
  };
  add('API requests and 5xx', apis.flatMap((api) => [
    ['AWS/ApiGateway', 'Count', 'ApiId', api, 'Stage', '$default'],
    ['AWS/ApiGateway', '5xx', 'ApiId', api, 'Stage', '$default'],
  ]));
  add('Function invocations and errors', functions.flatMap((fn) => [
    ['AWS/Lambda', 'Invocations', 'FunctionName', fn],
    ['AWS/Lambda', 'Errors', 'FunctionName', fn],
    ['AWS/Lambda', 'Throttles', 'FunctionName', fn],
  ]));
  add('Function duration (max)', functions.map((fn) => ['AWS/Lambda', 'Duration', 'FunctionName', fn]), 'Maximum');
  add('Processing executions', machines.flatMap((sm) => [
    ['AWS/States', 'ExecutionsStarted', 'StateMachineArn', sm],
    ['AWS/States', 'ExecutionsSucceeded', 'StateMachineArn', sm],
    ['AWS/States', 'ExecutionsFailed', 'StateMachineArn', sm],
    ['AWS/States', 'ExecutionsTimedOut', 'StateMachineArn', sm],
    ['AWS/States', 'ExecutionsThrottled', 'StateMachineArn', sm],
    ['AWS/States', 'ExecutionsAborted', 'StateMachineArn', sm],
  ]));
  add('Queues: age of the oldest message (s)', consumed.map((q) => ['AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', q]), 'Maximum');
  add('Dead-letter queues', queues.map((q) => ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', q]), 'Maximum');
  add('Stream iterator age (ms)', streams.map((s) => ['AWS/Kinesis', 'GetRecords.IteratorAgeMilliseconds', 'StreamName', s]), 'Maximum');
  return [
    'MonitoringDashboard',
    {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardName: `${ctx.prefix}-workflows`,
        DashboardBody: { 'Fn::Sub': JSON.stringify({ widgets }) },
      },
    },
  ];
}

// Tables kept on stack removal are also protected from deletion through the API.
function protectRetainedTables(resources, enabled) {
  const protectedIds = [];
  for (const [id, table] of byType(resources, 'AWS::DynamoDB::Table')) {
    if (table.DeletionPolicy !== 'Retain') continue;
    table.Properties = table.Properties || {};
    if (table.Properties.DeletionProtectionEnabled === undefined) {
      table.Properties.DeletionProtectionEnabled = Boolean(enabled);
      protectedIds.push(id);
    }
  }
  return protectedIds;
}

function monitoringResources({ resources, service, stage, monitoring }) {
  const ctx = { prefix: `${service}-${stage}`, monitoring };
  const subscribed = subscriptions(ctx, monitoring.alarmEmails);
  // The alarm topic's own dead-letter queue is alarmed and charted like every other one.
  const all = { ...resources, ...Object.fromEntries(subscribed) };
  const entries = [
    ...subscribed,
    ...byType(resources, 'AWS::Lambda::Function').flatMap(([id, fn]) => functionAlarms(ctx, id, fn)),
    ...deadLetterQueueIds(all).map((id) => queueAlarm(ctx, id, all[id])),
    ...byType(resources, 'AWS::StepFunctions::StateMachine').flatMap(([id]) => stateMachineAlarms(ctx, id)),
    ...byType(resources, 'AWS::Kinesis::Stream').map(([id]) => streamAlarm(ctx, id)),
    ...consumerAlarms(ctx, resources),
    ...byType(resources, 'AWS::ApiGatewayV2::Api')
      .filter(([, api]) => (api.Properties || {}).ProtocolType === 'HTTP')
      .map(([id]) => api5xxAlarm(ctx, id)),
    dashboard(ctx, all),
  ];
  return Object.fromEntries(entries);
}

module.exports = { monitoringResources, protectRetainedTables, deadLetterQueueIds, TOPIC_ID, TOPIC_DLQ_ID };
