'use strict';

// IAM clean-up of the compiled template once serverless-iam-roles-per-function has given
// every function its own role (issue 10). The static IAM check (gates/iam_reference.py)
// fails the template without these.

// The framework's shared execution role. With a role per function it is still compiled (the
// per-function plugin copies it as a template) but no function uses it, and it would still
// grant the union of every function's queue, stream and dead-letter access.
const SHARED_ROLE_ID = 'IamRoleLambdaExecution';

// serverless-iam-roles-per-function adds these to the stream statement it scopes to the
// stream's ARN; they have no resource type, so there they never match anything. The
// functions that need them (Lambda's poller) grant them on "*" in functions/events.yml.
const UNSCOPED_LIST_ACTIONS = new Set(['dynamodb:ListStreams', 'kinesis:ListStreams']);

const asList = (value) => (Array.isArray(value) ? value : [value]);

// Does `value` (any part of a template) name the logical id `id`: Ref, Fn::GetAtt, a
// Fn::Sub variable or DependsOn?
function refersTo(value, id) {
  if (Array.isArray(value)) return value.some((item) => refersTo(item, id));
  if (!value || typeof value !== 'object') return false;
  if (value.Ref === id) return true;
  const att = value['Fn::GetAtt'];
  if (Array.isArray(att) ? att[0] === id : typeof att === 'string' && att.split('.')[0] === id) {
    return true;
  }
  const sub = value['Fn::Sub'];
  const subText = Array.isArray(sub) ? sub[0] : sub;
  if (typeof subText === 'string' && new RegExp(`\\$\\{${id}(\\.[^}]*)?\\}`).test(subText)) {
    return true;
  }
  if (asList(value.DependsOn || []).includes(id)) return true;
  return Object.values(value).some((item) => refersTo(item, id));
}

// Removes the shared role when nothing in the template refers to it (a function with no
// iamRoleStatements would): 'removed', 'referenced' (kept) or 'absent'.
function removeUnusedSharedRole(template) {
  const resources = template.Resources || {};
  if (!resources[SHARED_ROLE_ID]) return 'absent';
  const { [SHARED_ROLE_ID]: _shared, ...others } = resources;
  if (refersTo(others, SHARED_ROLE_ID) || refersTo(template.Outputs || {}, SHARED_ROLE_ID)) {
    return 'referenced';
  }
  delete resources[SHARED_ROLE_ID];
  return 'removed';
}

// Drops UNSCOPED_LIST_ACTIONS from role statements that name specific resources (and the
// statement if nothing is left); returns how many actions it dropped.
function dropArnScopedListActions(resources) {
  let dropped = 0;
  for (const resource of Object.values(resources)) {
    if (!resource || resource.Type !== 'AWS::IAM::Role') continue;
    for (const policy of (resource.Properties && resource.Properties.Policies) || []) {
      const document = policy.PolicyDocument || {};
      const kept = [];
      for (const statement of asList(document.Statement || [])) {
        if (statement.Action && !asList(statement.Resource || []).includes('*')) {
          const actions = asList(statement.Action);
          const remaining = actions.filter((action) => !UNSCOPED_LIST_ACTIONS.has(action));
          dropped += actions.length - remaining.length;
          if (!remaining.length) continue;
          statement.Action = remaining;
        }
        kept.push(statement);
      }
      document.Statement = kept;
    }
  }
  return dropped;
}

module.exports = { removeUnusedSharedRole, dropArnScopedListActions, refersTo, SHARED_ROLE_ID };
