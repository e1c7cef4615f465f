'use strict';

// Dead letters for scheduled rules (issue 11). The framework's `schedule` events compile to
// AWS::Events::Rule resources whose targets have no DeadLetterConfig, and the event offers no
// option for one: an event EventBridge cannot deliver (the function's permission missing,
// the function deleted or throttled past EventBridge's retries) would vanish before any
// function runs. Each scheduled rule's Lambda target gets, as its dead-letter queue, the
// queue that already keeps that function's failed runs (its on-failure destination), and
// that queue gets a policy letting exactly those rules send to it.

const queuePolicyId = (queueId) => `${queueId}ScheduleRulesPolicy`;

function targetOf(value) {
  if (!value || typeof value !== 'object') return null;
  if (typeof value.Ref === 'string') return value.Ref;
  if (Array.isArray(value['Fn::GetAtt'])) return value['Fn::GetAtt'][0];
  return null;
}

// function logical id -> the SQS queue logical id of its on-failure destination
function onFailureQueues(resources) {
  const queues = {};
  for (const resource of Object.values(resources)) {
    if (!resource || resource.Type !== 'AWS::Lambda::EventInvokeConfig') continue;
    const props = resource.Properties || {};
    const fn = targetOf(props.FunctionName);
    const destination = ((props.DestinationConfig || {}).OnFailure || {}).Destination;
    const queue = targetOf(destination);
    if (fn && queue && (resources[queue] || {}).Type === 'AWS::SQS::Queue') queues[fn] = queue;
  }
  return queues;
}

function queuesWithPolicies(resources) {
  const ids = new Set();
  for (const resource of Object.values(resources)) {
    if (!resource || resource.Type !== 'AWS::SQS::QueuePolicy') continue;
    for (const queue of (resource.Properties || {}).Queues || []) {
      const id = targetOf(queue);
      if (id) ids.add(id);
    }
  }
  return ids;
}

// Sets DeadLetterConfig on every scheduled rule's Lambda targets and returns the queue
// policies to add ({logicalId: resource}). Throws (with the fix) for a scheduled function
// without an on-failure queue, or a queue that already has a policy this one would replace.
function scheduleDeadLetters(resources) {
  const failureQueues = onFailureQueues(resources);
  const rulesByQueue = {};
  for (const [ruleId, rule] of Object.entries(resources)) {
    if (!rule || rule.Type !== 'AWS::Events::Rule') continue;
    const props = rule.Properties || {};
    if (!props.ScheduleExpression) continue;
    for (const target of props.Targets || []) {
      const fn = targetOf(target.Arn);
      if (!fn || (resources[fn] || {}).Type !== 'AWS::Lambda::Function') continue;
      if (target.DeadLetterConfig && target.DeadLetterConfig.Arn) continue;
      const queue = failureQueues[fn];
      if (!queue) {
        throw new Error(
          `scheduled rule ${ruleId} invokes ${fn}, which has no on-failure destination queue: ` +
            'give the function destinations.onFailure (type sqs), which also keeps the events ' +
            'EventBridge cannot deliver'
        );
      }
      target.DeadLetterConfig = { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } };
      (rulesByQueue[queue] = rulesByQueue[queue] || []).push(ruleId);
    }
  }
  const existing = queuesWithPolicies(resources);
  const policies = {};
  for (const [queue, rules] of Object.entries(rulesByQueue)) {
    if (existing.has(queue)) {
      throw new Error(
        `${queue} already has an AWS::SQS::QueuePolicy; a queue takes one policy, so the ` +
          `statement letting ${rules.join(', ')} send dead letters would replace it: ` +
          'use a queue of its own as the functions\' on-failure destination'
      );
    }
    policies[queuePolicyId(queue)] = {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'ScheduleRulesDeadLetters',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
              Condition: {
                ArnEquals: {
                  'aws:SourceArn': rules.sort().map((rule) => ({ 'Fn::GetAtt': [rule, 'Arn'] })),
                },
              },
            },
          ],
        },
      },
    };
  }
  return policies;
}

module.exports = { scheduleDeadLetters, queuePolicyId };
