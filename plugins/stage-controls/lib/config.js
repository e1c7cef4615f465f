'use strict';

// Validates the stage configuration (custom.config, read from config/<stage>.yml) against
// config/schema.json before anything is packaged or deployed. The same schema is checked
// by `python -m gates config`; errors name the stage, the key and the expected value.

const path = require('node:path');
const fs = require('node:fs');
const Ajv = require('ajv');
const coldstart = require('./coldstart');

function loadSchema(serviceDir) {
  return JSON.parse(fs.readFileSync(path.join(serviceDir, 'config', 'schema.json'), 'utf8'));
}

function keyOf(error) {
  const parts = error.instancePath.split('/').slice(1);
  if (error.keyword === 'required') parts.push(error.params.missingProperty);
  if (error.keyword === 'additionalProperties') parts.push(error.params.additionalProperty);
  return parts.join('.') || '(top level)';
}

function schemaAt(schema, error) {
  let node = schema;
  const parts = error.schemaPath.replace(/^#\//, '').split('/');
  for (const part of parts.slice(0, -1)) node = node && node[part];
  return node || {};
}

function describe(schema, error, config) {
  const key = keyOf(error);
  const at = schemaAt(schema, error);
  if (error.keyword === 'required') {
    const sub = (at.properties || {})[error.params.missingProperty] || {};
    return `key ${key}: missing; expected ${sub.description || 'a value'}`;
  }
  if (error.keyword === 'additionalProperties') {
    return `key ${key}: not allowed; expected only: ${Object.keys(at.properties || {}).join(', ')}`;
  }
  const value = error.instancePath
    .split('/')
    .slice(1)
    .reduce((node, part) => (node == null ? node : node[part]), config);
  const expected = at.description || (at.enum ? `one of ${at.enum.join(', ')}` : error.message);
  if (error.keyword === 'enum') {
    // The description says what the values mean; the list says which ones to write.
    const allowed = error.params.allowedValues.map((v) => JSON.stringify(v)).join(', ');
    return `key ${key}: expected ${expected}, got ${JSON.stringify(value)}; allowed: ${allowed}`;
  }
  return `key ${key}: expected ${expected}, got ${JSON.stringify(value)} (${error.message})`;
}

function validateStageConfig({ schema, config, stage, functionNames }) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  const problems = [];
  const valid = validate(config);
  if (!valid) {
    for (const error of validate.errors) problems.push(describe(schema, error, config));
  }
  if (config && config.tags && config.tags.stage !== undefined && config.tags.stage !== stage) {
    problems.push(`key tags.stage: expected ${JSON.stringify(stage)}, got ${JSON.stringify(config.tags.stage)}`);
  }
  const reserved = (config && config.reservedConcurrency) || {};
  for (const name of Object.keys(reserved)) {
    if (functionNames && !functionNames.includes(name)) {
      problems.push(
        `key reservedConcurrency.${name}: expected the name of a function (${functionNames.join(', ')}), got ${JSON.stringify(name)}`
      );
    }
  }
  // Every function is bounded as the stage decides: a reservation, or an explicit null (none,
  // or an SQS consumer bounded by its event source's maximumConcurrency).
  for (const name of functionNames || []) {
    if (!Object.prototype.hasOwnProperty.call(reserved, name)) {
      problems.push(
        `key reservedConcurrency.${name}: missing; expected an integer 1-1000, or null for no reservation (every function is listed)`
      );
    }
  }
  for (const name of (config && config.canary && config.canary.functions) || []) {
    if (functionNames && !functionNames.includes(name)) {
      problems.push(
        `key canary.functions: expected names of functions (${[...functionNames].sort().join(', ')}), got ${JSON.stringify(name)}`
      );
    }
  }
  // Cross-key rules, once the shapes are right.
  if (valid) problems.push(...coldstart.problems(config));
  return problems.map((problem) => `config/${stage}.yml (stage ${stage}): ${problem}`);
}

module.exports = { loadSchema, validateStageConfig };
