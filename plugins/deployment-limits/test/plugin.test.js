'use strict';

// End to end: real `sls package` (osls) on generated services that load this plugin.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zips = require('../fixtures/zips');
const DeploymentLimits = require('..');

const repo = path.resolve(__dirname, '../../..');
const sls = path.join(repo, 'node_modules', 'osls', 'bin', 'serverless.js');

function service(yml, files = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-service-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'plugins'));
  for (const plugin of ['deployment-limits', 'python-packaging']) {
    fs.symlinkSync(path.join(repo, 'plugins', plugin), path.join(dir, 'plugins', plugin));
  }
  fs.writeFileSync(path.join(dir, 'serverless.yml'), yml);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    if (typeof content === 'function') content(path.join(dir, name));
    else fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

function slsRun(dir, args, extraEnv = {}) {
  const env = { ...process.env, SLS_TELEMETRY_DISABLED: '1', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', ...extraEnv };
  delete env.AWS_PROFILE;
  const result = spawnSync(process.execPath, [sls, ...args, '--stage', 'test'], { cwd: dir, env, encoding: 'utf8', timeout: 120000 });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

const slsPackage = (dir) => slsRun(dir, ['package']);

const HEADER = `service: limits-fixture
frameworkVersion: '>=4'
provider:
  name: aws
  # not Python: python-packaging (listed for sls package without credentials) leaves these alone
  runtime: nodejs20.x
package:
  individually: true
  patterns: ['!**', 'handlers/**']
plugins:
  - ./plugins/python-packaging
  - ./plugins/deployment-limits
`;

// The queue Jobs that the worker function consumes, with its visibility timeout in seconds.
const jobsQueue = (visibility) => `resources:
  Resources:
    Jobs:
      Type: AWS::SQS::Queue
      Properties: {VisibilityTimeout: ${visibility}}
`;
const WORKER_PY = 'def handle(event, context):\n    return None\n';

test('sls package prints the figures of every function and writes them to .serverless', () => {
  const dir = service(
    `${HEADER}
layers:
  deps:
    package:
      artifact: deps.zip
functions:
  api:
    handler: handlers/api.handle
    timeout: 10
    layers: [{Ref: DepsLambdaLayer}]
    events:
      - httpApi: 'GET /documents'
  worker:
    handler: handlers/worker.handle
    timeout: 30
    events:
      - sqs: {arn: {Fn::GetAtt: [Jobs, Arn]}}
${jobsQueue(180)}`,
    {
      'handlers/api.py': 'def handle(event, context):\n    return {"statusCode": 200}\n',
      'handlers/worker.py': WORKER_PY,
      'deps.zip': (file) => zips.writeZip(file, { 'python/dep/__init__.py': 'VALUE = 1\n' }),
    }
  );
  const { status, output } = slsPackage(dir);
  assert.equal(status, 0, output);
  assert.match(output, /Deployment limits/);
  assert.match(output, /^api\s+\S+ B 0%\s+\S+ B 0%\s+1\/5\s+.*10\/29 s\s+1024 MB\s+ok$/m);
  assert.match(output, /^worker\s+.*30\/900 s\s+1024 MB\s+ok$/m);
  assert.match(output, /^layer:deps\s+/m);
  assert.match(output, /queue Jobs -> worker: visibility 180 s, needs >= 180 s \(6 x 30 s\)/);
  const report = JSON.parse(fs.readFileSync(path.join(dir, '.serverless', 'deployment-limits.json'), 'utf8'));
  const api = report.functions.find((fn) => fn.name === 'api');
  // individually packaged with handlers/**: both handler modules are in each package
  const handlers = ['api.py', 'worker.py'].map((name) => fs.statSync(path.join(dir, 'handlers', name)).size);
  assert.equal(api.codeUnzippedBytes, handlers[0] + handlers[1]);
  assert.equal(api.unzippedBytes, api.codeUnzippedBytes + 'VALUE = 1\n'.length);
  assert.deepEqual(report.findings, []);
});

test('sls package fails on broken limits, naming function, figure, limit and fix', () => {
  const dir = service(
    `${HEADER}
custom:
  deploymentLimits:
    budget: 0.9
layers:
  deps:
    package:
      artifact: bomb.zip
functions:
  api:
    handler: handlers/api.handle
    timeout: 40
    events:
      - httpApi: 'GET /documents'
  worker:
    handler: handlers/worker.handle
    timeout: 120
    layers: [{Ref: DepsLambdaLayer}, {Ref: GhostLambdaLayer}]
    events:
      - sqs: {arn: {Fn::GetAtt: [Jobs, Arn]}}
${jobsQueue(300)}`,
    {
      'handlers/api.py': 'def handle(event, context):\n    return None\n',
      'handlers/worker.py': WORKER_PY,
      'bomb.zip': (file) => zips.writeZipBomb(file),
    }
  );
  const { status, output } = slsPackage(dir);
  assert.notEqual(status, 0, output);
  const errors = output.slice(output.indexOf('Deployment limits broken')).split('\n').filter((line) => line.startsWith('  - '));
  assert.deepEqual(errors.map((line) => line.split(' Fix:')[0]), [
    '  - function worker: uses layer GhostLambdaLayer, which is neither a layer of this service nor a resource of the template: declare it under layers: or fix the reference',
    '  - function api: timeout behind the HTTP API is 40 s, limit 29 s.',
    '  - layer deps: unzipped size is 268,435,456 bytes, limit 262,144,000 bytes.',
    '  - function worker (queue Jobs): SQS visibility timeout is 300 s, limit at least 720 s (6 x timeout 120 s).',
  ]);
  assert.match(output, /budget: warn past 90% of a limit/);
});

test('a budget outside (0, 1] is rejected with the setting named', () => {
  const fake = {
    service: { custom: { deploymentLimits: { budget: 80 } } },
    classes: { Error },
  };
  const plugin = new DeploymentLimits(fake, {});
  assert.throws(() => plugin.budget(), /custom\.deploymentLimits\.budget must be a number in \(0, 1\], such as 0\.8; got 80/);
  fake.service.custom = {};
  assert.equal(plugin.budget(), 0.8);
});

test('sls deploy --package checks the prepackaged template and artifacts before anything is uploaded', () => {
  const dir = service(
    `${HEADER}
functions:
  api:
    handler: handlers/api.handle
    timeout: 10
    events:
      - httpApi: 'GET /documents'
`,
    { 'handlers/api.py': 'def handle(event, context):\n    return None\n' }
  );
  const packageDir = path.join(dir, 'artifacts');
  const packaged = slsRun(dir, ['package', '--package', packageDir]);
  assert.equal(packaged.status, 0, packaged.output);
  // the package changes after the check at package time (edited, or built elsewhere)
  const templateFile = path.join(packageDir, 'cloudformation-template-update-stack.json');
  const template = JSON.parse(fs.readFileSync(templateFile, 'utf8'));
  template.Resources.ApiLambdaFunction.Properties.Timeout = 40;
  fs.writeFileSync(templateFile, JSON.stringify(template));
  // any AWS call would fail with ECONNREFUSED: the check must stop the deploy first
  const { status, output } = slsRun(dir, ['deploy', '--package', packageDir], {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  });
  assert.notEqual(status, 0, output);
  assert.match(output, /Deployment limits broken \(1\):\n\s+- function api: timeout behind the HTTP API is 40 s, limit 29 s/);
  assert.doesNotMatch(output, /ECONNREFUSED/);
});
