'use strict';

// End to end: real `sls package` (osls) of a small Python service with a local layer.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync, execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { python312, runtimeSitePackages, repo, listZip } = require('../fixtures/support');

const sls = path.join(repo, 'node_modules', 'osls', 'bin', 'serverless.js');

function service(handlerSource) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pp-service-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'plugins'));
  for (const plugin of ['python-packaging', 'deployment-limits']) {
    fs.symlinkSync(path.join(repo, 'plugins', plugin), path.join(dir, 'plugins', plugin));
  }
  const files = {
    'handlers/__init__.py': '',
    'handlers/api.py': handlerSource,
    'layer/python/dep/__init__.py': 'from importlib.metadata import version\nVERSION = version("dep")\n',
    'layer/python/dep-1.0.dist-info/METADATA': 'Metadata-Version: 2.1\nName: dep\nVersion: 1.0\n',
    'layer/python/dep-1.0.dist-info/RECORD': '',
    'serverless.yml': `service: pp-fixture
frameworkVersion: '>=4'
provider:
  name: aws
  runtime: python3.12
  architecture: ${os.arch() === 'arm64' ? 'arm64' : 'x86_64'}
  environment:
    DOCUMENTS_TABLE: {Ref: Documents}
package:
  individually: true
  patterns: ['!**', 'handlers/**']
custom:
  pythonRequirements:
    pythonBin: ${python312()}
layers:
  deps:
    path: layer
    package:
      patterns: ['python/**']
functions:
  api:
    handler: handlers/api.handler
    layers: [{Ref: DepsLambdaLayer}]
resources:
  Resources:
    Documents:
      Type: AWS::DynamoDB::Table
      Properties:
        BillingMode: PAY_PER_REQUEST
        AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
        KeySchema: [{AttributeName: id, KeyType: HASH}]
plugins:
  - ./plugins/python-packaging
  - ./plugins/deployment-limits
`,
  };
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

function slsPackage(dir) {
  const env = { ...process.env, SLS_TELEMETRY_DISABLED: '1', DOCFLOW_RUNTIME_SITE_PACKAGES: runtimeSitePackages() };
  const result = spawnSync(process.execPath, [sls, 'package', '--stage', 'test'], { cwd: dir, env, encoding: 'utf8', timeout: 180000 });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

const zipHashes = (dir) =>
  Object.fromEntries(
    fs
      .readdirSync(path.join(dir, '.serverless'))
      .filter((name) => name.endsWith('.zip'))
      .map((name) => [name, crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, '.serverless', name))).digest('hex')])
  );

const GOOD_HANDLER =
  'import os\nimport boto3\nimport dep\nTABLE = os.environ["DOCUMENTS_TABLE"]\n\ndef handler(event, context):\n    return dep.VERSION\n';

test('sls package compiles bytecode into function and layer zips, reproducibly, and imports the handler', () => {
  const dir = service(GOOD_HANDLER);
  const first = slsPackage(dir);
  assert.equal(first.status, 0, first.output);
  assert.match(first.output, /Bytecode compiled ahead \(Python 3\.12, checked-hash \.pyc\): 3 modules in 2 reproducible zips/);
  assert.match(first.output, /Import check of the packaged handlers \(Python 3\.12, isolated\):\n\s+api: ok \(\d+ ms\)/);
  assert.match(first.output, /^api\s+.*\s+ok$/m); // the deployment-limits table follows
  assert.deepEqual(listZip(path.join(dir, '.serverless', 'deps.zip')).map(([name]) => name), [
    'python/dep-1.0.dist-info/METADATA',
    'python/dep-1.0.dist-info/RECORD',
    'python/dep/__init__.py',
    'python/dep/__pycache__/__init__.cpython-312.pyc',
  ]);
  const hashes = zipHashes(dir);
  // the template carries the zips' hashes (layer and version ids); only the upload
  // directory, named after the packaging time, may differ between builds
  const templateOf = () =>
    fs
      .readFileSync(path.join(dir, '.serverless', 'cloudformation-template-update-stack.json'), 'utf8')
      .replace(/serverless\/pp-fixture\/test\/[^/]+\//g, 'serverless/pp-fixture/test/<upload>/');
  const template = templateOf();

  // a rebuild from the same sources, touched, gives the same bytes and the same template
  const later = new Date(Date.now() + 3600 * 1000);
  for (const file of ['handlers/api.py', 'layer/python/dep/__init__.py']) fs.utimesSync(path.join(dir, file), later, later);
  fs.rmSync(path.join(dir, '.serverless'), { recursive: true });
  const second = slsPackage(dir);
  assert.equal(second.status, 0, second.output);
  assert.deepEqual(zipHashes(dir), hashes);
  assert.equal(templateOf(), template);
  // and the function zip's bytecode is what Python itself would accept for the shipped source
  const check = execFileSync(python312(), ['-c', `
import importlib.util, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
pyc = z.read("handlers/__pycache__/api.cpython-312.pyc")
print(pyc[:4] == importlib.util.MAGIC_NUMBER and pyc[8:16] == importlib.util.source_hash(z.read("handlers/api.py")))
`, path.join(dir, '.serverless', 'api.zip')], { encoding: 'utf8' });
  assert.equal(check.trim(), 'True');
});

test('sls package fails when a packaged handler cannot import, naming the function and the module', () => {
  const dir = service('import dep\nimport structlog\n\ndef handler(event, context):\n    return None\n');
  const { status, output } = slsPackage(dir);
  assert.notEqual(status, 0, output);
  assert.match(output, /Packaged handlers fail to import \(1\):\n\s+- api: ModuleNotFoundError: No module named 'structlog'/);
  assert.match(output, /handlers\/api\.py", line 2, in <module>/);
});
