'use strict';

// A function's environment as Lambda will see it, for the import check. Literal values are
// kept; values CloudFormation resolves at deploy time (Ref, Fn::GetAtt, Fn::Sub, Fn::Join...)
// become recognisable placeholders of the right shape (names, ARNs), so settings that are
// parsed at cold start still parse.

const ACCOUNT = '000000000000';

function pseudo(name, context) {
  return {
    'AWS::Region': context.region,
    'AWS::AccountId': ACCOUNT,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': context.stackName,
    'AWS::StackId': `arn:aws:cloudformation:${context.region}:${ACCOUNT}:stack/${context.stackName}/import-check`,
    'AWS::NoValue': '',
  }[name];
}

function ref(name, context) {
  const fixed = pseudo(name, context);
  if (fixed !== undefined) return fixed;
  const parameters = (context.template && context.template.Parameters) || {};
  if (parameters[name] && parameters[name].Default !== undefined) return String(parameters[name].Default);
  return `import-check-${name}`;
}

function getAtt(target, attribute, context) {
  if (attribute === 'Arn' || attribute.endsWith('Arn')) {
    return `arn:aws:import-check:${context.region}:${ACCOUNT}:${target}`;
  }
  return `import-check-${target}-${attribute}`;
}

function resolve(value, context) {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return value.map((item) => resolve(item, context));
  const keys = Object.keys(value);
  if (keys.length !== 1) return JSON.stringify(value);
  const [fn] = keys;
  const arg = value[fn];
  switch (fn) {
    case 'Ref':
      return ref(arg, context);
    case 'Fn::GetAtt': {
      const [target, attribute] = Array.isArray(arg) ? arg : String(arg).split(/\.(.*)/);
      return getAtt(target, attribute, context);
    }
    case 'Fn::Sub': {
      const [body, variables] = Array.isArray(arg) ? arg : [arg, {}];
      return String(body)
        .replace(/\$\{([^!}][^}]*)\}/g, (match, name) => {
          if (variables && name in variables) return resolve(variables[name], context);
          if (name.includes('.')) {
            const [target, attribute] = name.split(/\.(.*)/);
            return getAtt(target, attribute, context);
          }
          return ref(name, context);
        })
        .replace(/\$\{!/g, '${');
    }
    case 'Fn::Join': {
      const [delimiter, parts] = arg;
      const resolved = resolve(parts, context);
      return Array.isArray(resolved) ? resolved.join(delimiter) : resolved;
    }
    case 'Fn::Select': {
      const list = resolve(arg[1], context);
      return Array.isArray(list) ? list[Number(arg[0])] : list;
    }
    case 'Fn::If':
      return resolve(arg[1], context);
    case 'Fn::ImportValue':
      return `import-check-import-${resolve(arg, context)}`;
    case 'Fn::Split':
      return resolve(arg[1], context).split(arg[0]);
    default:
      return `import-check-${fn.replace('Fn::', '').toLowerCase()}`;
  }
}

/** {NAME: string} for a template's Environment.Variables. */
function resolveEnvironment(variables, context) {
  return Object.fromEntries(
    Object.entries(variables || {}).map(([name, value]) => {
      const resolved = resolve(value, context);
      return [name, Array.isArray(resolved) ? resolved.join(',') : resolved];
    })
  );
}

module.exports = { resolveEnvironment, resolve };
