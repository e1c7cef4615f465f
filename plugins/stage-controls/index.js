'use strict';

// stage-controls: what config/<stage>.yml decides beyond plain variables.
//
// - initialize: the stage config is validated against config/schema.json (every command,
//   so `sls package` and `sls deploy` stop before any work on a bad config);
// - reserved concurrency: `reservedConcurrency.<function>` applies to that function
//   (null: no reservation), so functions added anywhere in serverless.yml are covered;
// - after the custom resources are merged into the compiled template: every scheduled rule's
//   Lambda target a dead-letter queue (the function's on-failure queue) and the queue policy
//   letting those rules send to it (lib/schedules.js); alarms for every
//   function, dead-letter queue, state machine, Kinesis stream and HTTP API, the alarm
//   topic's e-mail subscriptions (with a dead-letter queue of their own), the dashboard
//   (lib/monitoring.js), and deletion
//   protection on retained DynamoDB tables when `deletionProtection` is true;
// - after serverless-iam-roles-per-function (before:package:finalize) has given each function
//   its own role: the unused shared role removed and the stream-listing actions that plugin
//   scopes to stream ARNs (where they never match) dropped (lib/roles.js, issue 10);
// - canary (issue 12, lib/canary.js): for a stage whose `canary` names functions, the
//   settings serverless-plugin-canary-deployments reads (set at initialize, for this stage
//   only), a least-privilege CodeDeploy role once the alarms exist, and after that plugin has
//   moved the functions' events to the alias, their asynchronous invocation settings too;
// - cold-start controls (lib/coldstart.js): `coldStart.<function>` provisioned concurrency on
//   the canary's alias, or SnapStart on the function's published versions.
// The alarm topic itself and the budget are plain YAML: resources/monitoring.yml, cost.yml.

const { loadSchema, validateStageConfig } = require('./lib/config');
const { monitoringResources, protectRetainedTables, TOPIC_ID } = require('./lib/monitoring');
const { removeUnusedSharedRole, dropArnScopedListActions, SHARED_ROLE_ID } = require('./lib/roles');
const { scheduleDeadLetters } = require('./lib/schedules');
const canary = require('./lib/canary');
const coldstart = require('./lib/coldstart');

class StageControls {
  constructor(serverless, options, utils) {
    this.serverless = serverless;
    this.options = options || {};
    this.log = (utils && utils.log) || { info() {}, notice() {} };
    this.hooks = {
      initialize: () => this.validateAndApply(),
      'after:aws:package:finalize:mergeCustomProviderResources': () => {
        this.cleanRoles();
        this.addScheduleDeadLetters();
        this.addMonitoring();
        this.addCanaryRole();
      },
      // After every plugin's mergeCustomProviderResources hook, the canary plugin's included.
      'before:aws:package:finalize:stripNullPropsFromTemplateResources': () => {
        this.retargetCanary();
        this.applyColdStart();
      },
    };
  }

  stageConfig() {
    return (this.serverless.service.custom || {}).config;
  }

  stage() {
    return this.serverless.getProvider('aws').getStage();
  }

  validateAndApply() {
    const config = this.stageConfig();
    const stage = this.stage();
    const problems = validateStageConfig({
      schema: loadSchema(this.serverless.serviceDir),
      config,
      stage,
      functionNames: this.serverless.service.getAllFunctions(),
    });
    if (problems.length) {
      throw new this.serverless.classes.Error(
        `Stage configuration is invalid:\n  ${problems.join('\n  ')}`,
        'DOCFLOW_STAGE_CONFIG_INVALID'
      );
    }
    for (const [name, value] of Object.entries(config.reservedConcurrency || {})) {
      const fn = this.serverless.service.getFunction(name);
      if (value !== null && fn.reservedConcurrency === undefined) fn.reservedConcurrency = value;
    }
    this.applyCanary();
  }

  canaryConfig() {
    const config = this.stageConfig().canary;
    return config && config.functions.length ? config : null;
  }

  canaryFunctionIds() {
    const naming = this.serverless.getProvider('aws').naming;
    return this.canaryConfig().functions.map((name) => naming.getLambdaLogicalId(name));
  }

  applyCanary() {
    const config = this.canaryConfig();
    const service = this.serverless.service;
    const declared = service.getAllFunctions().filter((name) => service.getFunction(name).deploymentSettings);
    if (declared.length || (service.custom || {}).deploymentSettings) {
      // One place decides which stage shifts traffic: the plugin alone would apply settings
      // written in serverless.yml to every stage.
      throw new this.serverless.classes.Error(
        `stage-controls: deploymentSettings in serverless.yml (${declared.join(', ') || 'custom'}); ` +
          'set config <stage>.yml canary instead',
        'DOCFLOW_CANARY_SETTINGS'
      );
    }
    if (!config) return;
    const naming = this.serverless.getProvider('aws').naming;
    const functions = Object.fromEntries(
      config.functions.map((name) => [name, { logicalId: naming.getLambdaLogicalId(name), fn: service.getFunction(name) }])
    );
    const generated = canary.settings({
      canary: config,
      stage: this.stage(),
      functions,
      httpApiId: naming.getHttpApiLogicalId(),
    });
    service.custom.deploymentSettings = generated.custom;
    for (const [name, value] of Object.entries(generated.perFunction)) {
      service.getFunction(name).deploymentSettings = value;
    }
  }

  addCanaryRole() {
    const config = this.canaryConfig();
    if (!config) return;
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    if (template.Resources[canary.ROLE_ID]) {
      throw new this.serverless.classes.Error(
        `stage-controls: generated resource ${canary.ROLE_ID} clashes with one already in the template`,
        'DOCFLOW_CANARY_CLASH'
      );
    }
    const service = this.serverless.service;
    const functionIds = this.canaryFunctionIds();
    const alarmIds = config.functions.flatMap((name) => service.getFunction(name).deploymentSettings.alarms);
    try {
      template.Resources[canary.ROLE_ID] = canary.serviceRole({
        resources: template.Resources,
        prefix: `${this.serverless.service.service}-${this.stage()}`,
        functionIds,
        alias: config.alias,
        alarmIds: [...new Set(alarmIds)],
      });
    } catch (error) {
      throw new this.serverless.classes.Error(`stage-controls: ${error.message}`, 'DOCFLOW_CANARY');
    }
  }

  applyColdStart() {
    const coldStart = this.stageConfig().coldStart || {};
    if (!Object.keys(coldStart).length) return;
    const naming = this.serverless.getProvider('aws').naming;
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    let applied;
    try {
      applied = coldstart.apply(template.Resources, {
        coldStart,
        functionIds: Object.fromEntries(Object.keys(coldStart).map((name) => [name, naming.getLambdaLogicalId(name)])),
        alias: this.canaryConfig().alias,
      });
    } catch (error) {
      throw new this.serverless.classes.Error(`stage-controls: ${error.message}`, 'DOCFLOW_COLD_START');
    }
    const lines = Object.entries(applied).map(([name, what]) => `${name}: ${what}`);
    this.log.info(`stage-controls: cold-start controls: ${lines.join('; ')}`);
  }

  retargetCanary() {
    const config = this.canaryConfig();
    if (!config) return;
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const functionIds = this.canaryFunctionIds();
    let moved;
    try {
      for (const id of functionIds) {
        if (!template.Resources[canary.deploymentGroupId(id)]) {
          throw new Error(`no ${canary.deploymentGroupId(id)}: serverless-plugin-canary-deployments did not run`);
        }
      }
      moved = canary.retarget(template.Resources, { functionIds, alias: config.alias });
    } catch (error) {
      throw new this.serverless.classes.Error(`stage-controls: ${error.message}`, 'DOCFLOW_CANARY');
    }
    this.log.info(
      `stage-controls: canary ${config.type} through alias ${config.alias} for ${config.functions.join(', ')}; ` +
        `asynchronous invocation settings moved to the alias: ${moved.join(', ') || 'none'}`
    );
  }

  cleanRoles() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const dropped = dropArnScopedListActions(template.Resources);
    const shared = removeUnusedSharedRole(template);
    this.log.info(
      `stage-controls: shared role ${SHARED_ROLE_ID} ${shared}; ` +
        `${dropped} ARN-scoped ListStreams grant(s) dropped`
    );
  }

  // Adds generated resources to the template; one whose id is taken stops the build (`code`).
  addGenerated(template, generated, code) {
    for (const id of Object.keys(generated)) {
      if (template.Resources[id]) {
        throw new this.serverless.classes.Error(
          `stage-controls: generated resource ${id} clashes with one already in the template`,
          code
        );
      }
    }
    Object.assign(template.Resources, generated);
  }

  addScheduleDeadLetters() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    let policies;
    try {
      policies = scheduleDeadLetters(template.Resources);
    } catch (error) {
      throw new this.serverless.classes.Error(`stage-controls: ${error.message}`, 'DOCFLOW_SCHEDULE_DLQ');
    }
    this.addGenerated(template, policies, 'DOCFLOW_SCHEDULE_DLQ');
    this.log.info(`stage-controls: dead-letter queue policies for scheduled rules: ${Object.keys(policies).join(', ') || 'none'}`);
  }

  addMonitoring() {
    const config = this.stageConfig();
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    if (!template.Resources[TOPIC_ID]) {
      throw new this.serverless.classes.Error(
        `stage-controls: no ${TOPIC_ID} resource; include resources/monitoring.yml`,
        'DOCFLOW_ALARM_TOPIC_MISSING'
      );
    }
    const generated = monitoringResources({
      resources: template.Resources,
      service: this.serverless.service.service,
      stage: this.stage(),
      monitoring: config.monitoring,
    });
    this.addGenerated(template, generated, 'DOCFLOW_MONITORING_CLASH');
    const protectedTables = protectRetainedTables(template.Resources, config.deletionProtection);
    this.log.info(
      `stage-controls: ${Object.keys(generated).length} monitoring resources; ` +
        `deletion protection ${config.deletionProtection ? 'on' : 'off'} for ${protectedTables.length} retained table(s)`
    );
  }
}

module.exports = StageControls;
