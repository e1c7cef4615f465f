'use strict';

// deployment-limits: a local Serverless plugin that measures every packaged function and
// layer against the AWS Lambda limits after packaging and before any upload, prints a table
// of the figures, warns past a budget and fails with the figure, the limit and a fix.
//
//   plugins:
//     - ./plugins/deployment-limits
//   custom:
//     deploymentLimits:
//       budget: 0.8   # warn past 80 % of a limit

const fs = require('fs');
const path = require('path');
const limits = require('./lib/limits');
const { fromServerless } = require('./lib/model');
const { measure } = require('./lib/measure');
const { evaluate, describe } = require('./lib/rules');
const { renderTable } = require('./lib/report');

const REPORT_FILE = 'deployment-limits.json';

class DeploymentLimits {
  constructor(serverless, options, utils) {
    this.serverless = serverless;
    this.options = options || {};
    this.log = (utils && utils.log) || null;
    this.checked = false;
    if (serverless.configSchemaHandler && serverless.configSchemaHandler.defineCustomProperties) {
      serverless.configSchemaHandler.defineCustomProperties({
        type: 'object',
        properties: {
          deploymentLimits: {
            type: 'object',
            properties: { budget: { type: 'number' } },
            additionalProperties: false,
          },
        },
      });
    }
    this.hooks = {
      // After the template is complete (custom resources merged), before it is saved,
      // moved to --package, or uploaded. `sls deploy` packages through the same lifecycle.
      'before:aws:package:finalize:saveServiceState': () => this.checkPackaged(),
      // `sls deploy --package <dir>` skips packaging: check what is about to be uploaded.
      'before:deploy:deploy': () => this.checkPrepackaged(),
    };
  }

  budget() {
    const custom = this.serverless.service.custom || {};
    const config = custom.deploymentLimits || {};
    const budget = config.budget === undefined ? limits.DEFAULT_BUDGET : config.budget;
    if (typeof budget !== 'number' || !(budget > 0 && budget <= 1)) {
      throw new this.serverless.classes.Error(
        `custom.deploymentLimits.budget must be a number in (0, 1], such as 0.8; got ${JSON.stringify(budget)}`,
        'DEPLOYMENT_LIMITS_CONFIG'
      );
    }
    return budget;
  }

  checkPackaged() {
    this.run(fromServerless(this.serverless, this.options), path.join(this.serverless.serviceDir, '.serverless'));
  }

  checkPrepackaged() {
    if (this.checked) return;
    const serviceDir = this.serverless.serviceDir;
    const packageDir = path.resolve(serviceDir, this.options.package || this.serverless.service.package.path || '.serverless');
    const templateFile = path.join(packageDir, 'cloudformation-template-update-stack.json');
    let template;
    try {
      template = JSON.parse(fs.readFileSync(templateFile, 'utf8'));
    } catch (error) {
      throw new this.serverless.classes.Error(
        `deployment limits: cannot read the compiled template ${templateFile}: ${error.message}. ` +
          'Run sls package first, or deploy without --package.',
        'DEPLOYMENT_LIMITS_UNREADABLE'
      );
    }
    this.run(fromServerless(this.serverless, { ...this.options, template }), null);
  }

  run(model, reportDir) {
    const budget = this.budget();
    const figures = measure(model);
    const findings = evaluate(figures, budget);
    this.checked = true;
    const table = renderTable(figures, findings, budget);
    if (this.log) this.log.notice(`\n${table}\n`);
    else console.log(table); // eslint-disable-line no-console
    if (reportDir) {
      fs.mkdirSync(reportDir, { recursive: true });
      fs.writeFileSync(
        path.join(reportDir, REPORT_FILE),
        `${JSON.stringify({ budget, limits, ...figures, findings }, null, 2)}\n`
      );
    }
    const errors = findings.filter((finding) => finding.severity === 'error');
    if (errors.length) {
      throw new this.serverless.classes.Error(
        `Deployment limits broken (${errors.length}):\n${errors.map((e) => `  - ${describe(e)}`).join('\n')}`,
        'DEPLOYMENT_LIMITS_EXCEEDED'
      );
    }
    return figures;
  }
}

module.exports = DeploymentLimits;
