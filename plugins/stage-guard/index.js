'use strict';

// stage-guard: refuses, before osls does any work, what would deploy to the wrong place or
// fail later with an error that names serverless.yml instead of the user's file.
//
// It runs in the plugin's constructor: osls validates serverless.yml against its own schema
// (for example `functions.x.memorySize: must be <= 10240`) after loading plugins but before
// any lifecycle hook, so a check in `initialize` would come too late. Variables are not yet
// resolved there, so config/<stage>.yml is read from the file itself (it holds data only).
//
// - every command: config/<stage>.yml exists and matches config/schema.json (the messages of
//   ./plugins/stage-controls/lib/config.js: file, key, expected value);
// - deploy (any subcommand), remove, rollback: `--stage` given explicitly (serverless.yml has
//   no default stage; osls would otherwise pick "dev");
// - the same commands with `--stage local`: AWS_ENDPOINT_URL (and every AWS_ENDPOINT_URL_*)
//   set to a loopback address, so the local stage never reaches an AWS account.

const fs = require('node:fs');
const path = require('node:path');
const yaml = require('js-yaml');
const { loadSchema, validateStageConfig } = require('../stage-controls/lib/config');

const TARGETING_COMMANDS = new Set(['deploy', 'remove', 'rollback']);
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/;

function isLoopback(url) {
  try {
    return LOOPBACK.test(new URL(url).hostname);
  } catch {
    return false;
  }
}

function endpointProblems(env) {
  const named = Object.keys(env)
    .filter((name) => name === 'AWS_ENDPOINT_URL' || name.startsWith('AWS_ENDPOINT_URL_'))
    .sort();
  if (!env.AWS_ENDPOINT_URL) {
    return [
      'AWS_ENDPOINT_URL is not set, so this would reach the AWS account of your credentials. ' +
        'Start the local stack (`make up`) and run eval "$(.venv/bin/python -m localcloud env)"',
    ];
  }
  return named
    .filter((name) => !isLoopback(env[name]))
    .map((name) => `${name}=${env[name]} is not a loopback address (127.0.0.1, localhost, ::1)`);
}

function stageChecks({ command, options, env, serviceDir }) {
  const problems = [];
  const targets = TARGETING_COMMANDS.has(command);
  if (targets && !options.stage) {
    problems.push(
      `sls ${command} needs an explicit --stage (local, dev or prod): serverless.yml has no ` +
        'default stage, so that a plain command never deploys to a stage you did not name'
    );
    return problems;
  }
  const stage = options.stage || 'dev';
  if (targets && stage === 'local') {
    for (const problem of endpointProblems(env)) {
      problems.push(`the local stage deploys to the embedded AWS only: ${problem}`);
    }
  }
  const file = path.join(serviceDir, 'config', `${stage}.yml`);
  if (!fs.existsSync(file)) {
    const known = fs
      .readdirSync(path.join(serviceDir, 'config'))
      .filter((name) => name.endsWith('.yml'))
      .map((name) => name.slice(0, -4));
    problems.push(`config/${stage}.yml: no such file; the stages are ${known.join(', ')}`);
    return problems;
  }
  let config;
  try {
    config = yaml.load(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    problems.push(`config/${stage}.yml: not valid YAML: ${error.message.split('\n')[0]}`);
    return problems;
  }
  problems.push(...validateStageConfig({ schema: loadSchema(serviceDir), config, stage }));
  return problems;
}

class StageGuard {
  constructor(serverless, options) {
    const command = ((serverless.processedInput || {}).commands || [])[0];
    if (!command || command === 'plugin' || (options || {}).help) return;
    const problems = stageChecks({
      command,
      options: options || {},
      env: process.env,
      serviceDir: serverless.serviceDir,
    });
    if (problems.length) {
      throw new serverless.classes.Error(problems.join('\n'), 'DOCFLOW_STAGE_REFUSED');
    }
  }
}

module.exports = StageGuard;
module.exports.stageChecks = stageChecks;
module.exports.isLoopback = isLoopback;
