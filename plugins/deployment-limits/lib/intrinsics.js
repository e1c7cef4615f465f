'use strict';

// CloudFormation values are only known after deployment when they are intrinsic functions
// (Ref, Fn::GetAtt, Fn::Sub...). Size limits apply to the resolved values, so each intrinsic
// is replaced by a placeholder as long as the longest plausible resolved value: the check
// errs on the side of warning early, and reports such figures as estimates.

const PSEUDO_PARAMETER_LENGTHS = Object.freeze({
  'AWS::AccountId': 12,
  'AWS::Region': 14, // ap-southeast-2 and the like
  'AWS::Partition': 10, // aws-us-gov
  'AWS::URLSuffix': 16,
  'AWS::StackName': 128,
  'AWS::StackId': 180,
  'AWS::NoValue': 0,
  'AWS::NotificationARNs': 256,
});
const REF_LENGTH = 64; // physical names: buckets, tables, functions
const ARN_LENGTH = 128; // ARNs, queue URLs, topic ARNs
const OTHER_LENGTH = 128;
const ARN_VALUED_REF_TYPES = new Set([
  'AWS::SNS::Topic',
  'AWS::SQS::Queue',
  'AWS::StepFunctions::StateMachine',
  'AWS::SecretsManager::Secret',
  'AWS::Lambda::LayerVersion',
  'AWS::IAM::ManagedPolicy',
]);

function isIntrinsic(value) {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}

function refLength(name, template) {
  if (name in PSEUDO_PARAMETER_LENGTHS) return PSEUDO_PARAMETER_LENGTHS[name];
  const parameter = template && template.Parameters && template.Parameters[name];
  if (parameter) {
    return parameter.Default === undefined ? REF_LENGTH : String(parameter.Default).length;
  }
  const resource = template && template.Resources && template.Resources[name];
  if (resource && ARN_VALUED_REF_TYPES.has(resource.Type)) return ARN_LENGTH;
  return REF_LENGTH;
}

function subLength(body, variables, template) {
  return body.replace(/\$\{([^!}][^}]*)\}/g, (match, name) => {
    if (variables && name in variables) return 'x'.repeat(estimateLength(variables[name], template));
    if (name.includes('.')) return 'x'.repeat(ARN_LENGTH);
    return 'x'.repeat(refLength(name, template));
  }).replace(/\$\{!/g, '${').length;
}

/** Longest plausible length of a value once CloudFormation resolves it. */
function estimateLength(value, template) {
  if (value === null || value === undefined) return 0;
  if (typeof value !== 'object') return Buffer.byteLength(String(value));
  if (!isIntrinsic(value)) return Buffer.byteLength(JSON.stringify(materialize(value, template)));
  const [fn] = Object.keys(value);
  const arg = value[fn];
  switch (fn) {
    case 'Ref':
      return refLength(arg, template);
    case 'Fn::GetAtt':
      return ARN_LENGTH;
    case 'Fn::Sub':
      return Array.isArray(arg)
        ? subLength(String(arg[0]), arg[1], template)
        : subLength(String(arg), null, template);
    case 'Fn::Join': {
      const [delimiter, parts] = arg;
      if (!Array.isArray(parts)) return OTHER_LENGTH;
      const joined = parts.reduce((sum, part) => sum + estimateLength(part, template), 0);
      return joined + String(delimiter).length * Math.max(parts.length - 1, 0);
    }
    case 'Fn::If':
      return Math.max(estimateLength(arg[1], template), estimateLength(arg[2], template));
    default:
      return OTHER_LENGTH;
  }
}

function containsIntrinsic(value) {
  if (!value || typeof value !== 'object') return false;
  if (isIntrinsic(value)) return true;
  return Object.values(value).some(containsIntrinsic);
}

/** A copy of a template value with every intrinsic replaced by a placeholder string. */
function materialize(value, template) {
  if (!value || typeof value !== 'object') return value;
  if (isIntrinsic(value)) return 'x'.repeat(estimateLength(value, template));
  if (Array.isArray(value)) return value.map((item) => materialize(item, template));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, materialize(item, template)])
  );
}

/** Compact JSON size in bytes of a value as it will be once resolved (an upper estimate). */
function resolvedJsonBytes(value, template) {
  return {
    bytes: Buffer.byteLength(JSON.stringify(materialize(value, template))),
    estimated: containsIntrinsic(value),
  };
}

module.exports = { estimateLength, materialize, resolvedJsonBytes, isIntrinsic, containsIntrinsic };
