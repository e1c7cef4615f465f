'use strict';

// invoke-local-env: lets `sls invoke local` run functions whose environment uses Fn::Sub or
// Fn::Join. osls resolves only `Ref` and `Fn::ImportValue` there ("Unsupported environment
// variable format"), and docflow builds names from pseudo parameters (`!Sub
// 'docflow-local-analytics-${AWS::AccountId}-${AWS::Region}'`) and joins config lists
// (`Fn::Join: [',', [...]]`). Before osls reads the environment of the invoked function, this
// replaces each such value it can compute with the string CloudFormation would produce:
//
// - Fn::Sub of a string whose variables are all pseudo parameters (AWS::AccountId,
//   AWS::Region, AWS::Partition, AWS::URLSuffix); the account comes from STS, so from the
//   stack `AWS_ENDPOINT_URL` points at;
// - Fn::Join of a separator and strings (after resolving nested values the same way).
//
// Anything else (a resource attribute in a Sub, a Ref inside a Join) is left for osls, which
// then reports it as before. Only `invoke local` is affected: deploys use the template as is.

const PSEUDO = /\$\{(AWS::[A-Za-z]+)\}/g;
const VARIABLE = /\$\{([^}!][^}]*)\}/g;

function pseudoParameters({ accountId, region, partition = 'aws' }) {
  return {
    'AWS::AccountId': accountId,
    'AWS::Region': region,
    'AWS::Partition': partition,
    'AWS::URLSuffix': partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
  };
}

function needsAccount(value) {
  return JSON.stringify(value || {}).includes('AWS::AccountId');
}

// The string CloudFormation would make of `value`, or undefined when it cannot be computed.
function resolve(value, pseudo) {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  if (keys[0] === 'Fn::Sub') {
    const template = value['Fn::Sub'];
    if (typeof template !== 'string') return undefined;
    const names = [...template.matchAll(VARIABLE)].map((match) => match[1]);
    if (!names.every((name) => pseudo[name] !== undefined)) return undefined;
    return template.replace(PSEUDO, (_, name) => pseudo[name]).replace(/\$\{!/g, '${');
  }
  if (keys[0] === 'Fn::Join') {
    const [separator, parts] = value['Fn::Join'];
    if (typeof separator !== 'string' || !Array.isArray(parts)) return undefined;
    const resolved = parts.map((part) => resolve(part, pseudo));
    return resolved.every((part) => typeof part === 'string')
      ? resolved.join(separator)
      : undefined;
  }
  return undefined;
}

// A copy of `environment` with every computable Fn::Sub / Fn::Join replaced by its string.
function resolveEnvironment(environment, pseudo) {
  if (!environment) return environment;
  const result = { ...environment };
  for (const [name, value] of Object.entries(environment || {})) {
    if (value && typeof value === 'object') {
      const resolved = resolve(value, pseudo);
      if (resolved !== undefined) result[name] = resolved;
    }
  }
  return result;
}

class InvokeLocalEnv {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options || {};
    this.hooks = {
      // `initialize` runs before every lifecycle event, so before invoke-local reads the
      // environment in its own before:invoke:local:loadEnvVars hook.
      initialize: async () => this.resolveForInvokeLocal(),
    };
  }

  async resolveForInvokeLocal() {
    const commands = (this.serverless.processedInput || {}).commands || [];
    if (commands[0] !== 'invoke' || commands[1] !== 'local' || !this.options.function) return;
    const service = this.serverless.service;
    const fn = service.functions && service.functions[this.options.function];
    if (!fn) return; // osls reports the unknown function itself
    const provider = this.serverless.getProvider('aws');
    const values = [service.provider.environment, fn.environment];
    const accountId = values.some(needsAccount) ? await provider.getAccountId() : undefined;
    const pseudo = pseudoParameters({ accountId, region: provider.getRegion() });
    service.provider.environment = resolveEnvironment(service.provider.environment, pseudo);
    fn.environment = resolveEnvironment(fn.environment, pseudo);
  }
}

module.exports = InvokeLocalEnv;
module.exports.resolve = resolve;
module.exports.resolveEnvironment = resolveEnvironment;
module.exports.pseudoParameters = pseudoParameters;
