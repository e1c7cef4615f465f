'use strict';

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { runScript } = require('../lib/python');
const { python312, runtimeSitePackages, makeZip, repo } = require('../fixtures/support');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-check-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const HOST = os.arch() === 'arm64' ? 'arm64' : 'x86_64';
const FOREIGN = HOST === 'arm64' ? 'x86_64' : 'arm64';
const ELF_MACHINE = { x86_64: 62, arm64: 183 };
const SO_SUFFIX = { x86_64: '.cpython-312-x86_64-linux-gnu.so', arm64: '.cpython-312-aarch64-linux-gnu.so' };

function elfHeader(architecture) {
  const header = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header);
  header.writeUInt16LE(3, 16);
  header.writeUInt16LE(ELF_MACHINE[architecture], 18);
  return { base64: header.toString('base64') };
}

let counter = 0;
function fn(handlerSource, { layer = null, environment = {}, distributions = [], architecture = HOST } = {}) {
  counter += 1;
  const archive = makeZip(path.join(dir, `fn${counter}.zip`), [
    ['handlers/__init__.py', ''],
    ['handlers/main.py', handlerSource],
  ]);
  const layers = layer ? [makeZip(path.join(dir, `layer${counter}.zip`), layer)] : [];
  return { name: `fn${counter}`, functionName: `docflow-test-fn${counter}`, handler: 'handlers/main.handler', archive, layers, architecture, memory: 256, environment, distributions };
}

function check(functions, env = process.env) {
  const saved = process.env;
  process.env = env;
  try {
    return runScript(python312(), 'import_check.py', {
      python: python312(),
      region: 'eu-west-1',
      runtimeSitePackages: runtimeSitePackages(),
      runtimeDistributions: ['boto3', 'botocore', 's3transfer', 'jmespath', 'python-dateutil', 'six', 'urllib3'],
      functions,
    }, Error);
  } finally {
    process.env = saved;
  }
}

const DEP_LAYER = [
  ['python/dep/__init__.py', 'from importlib.metadata import version\nVERSION = version("dep")\n'],
  ['python/dep-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\nName: dep\nVersion: 1.0\n'],
  ['python/dep-1.0.dist-info/RECORD', ''],
];

test('a handler importing its layer, the runtime boto3 and its settings imports cleanly', () => {
  const ok = fn(
    'import os\nimport boto3\nimport dep\nTABLE = os.environ["DOCUMENTS_TABLE"]\nassert dep.VERSION == "1.0"\n\ndef handler(event, context):\n    return TABLE\n',
    { layer: DEP_LAYER, environment: { DOCUMENTS_TABLE: 'docflow-test-documents' }, distributions: ['dep'] }
  );
  const { status, reports } = check([ok]);
  assert.equal(status, 0, JSON.stringify(reports));
  assert.deepEqual(reports.map(({ function: name, status: result }) => [name, result]), [[ok.name, 'ok']]);
});

test('each packaging mistake fails the check with its cause', () => {
  const missingModule = fn('import structlog\n\ndef handler(event, context):\n    return None\n');
  const strippedDistInfo = fn('import dep\n\ndef handler(event, context):\n    return None\n', {
    layer: [['python/dep/__init__.py', 'VALUE = 1\n']],
    distributions: ['dep'],
  });
  const missingSetting = fn('import os\nTABLE = os.environ["DOCUMENTS_TABLE"]\n\ndef handler(event, context):\n    return None\n');
  const noHandler = fn('def handle(event, context):\n    return None\n');
  const wrongArchitecture = fn('def handler(event, context):\n    return None\n', {
    layer: [['python/speed/_native' + SO_SUFFIX[HOST], elfHeader(HOST)]],
    architecture: FOREIGN,
  });
  const { status, reports } = check([missingModule, strippedDistInfo, missingSetting, noHandler, wrongArchitecture]);
  assert.equal(status, 1);
  assert.deepEqual(reports.map((report) => [report.status, report.error]), [
    ['failed', "ModuleNotFoundError: No module named 'structlog'"],
    ['failed', 'ImportError: no installed metadata (*.dist-info) for: dep'],
    ['failed', "KeyError: 'DOCUMENTS_TABLE'"],
    ['failed', "AttributeError: module handlers.main has no callable 'handler'"],
    ['failed', `shared objects do not match the function architecture ${FOREIGN}: /opt/python/speed/_native${SO_SUFFIX[HOST]} is built for ${HOST}`],
  ]);
  assert.match(reports[0].traceback, /handlers\/main\.py", line 1/);
});

test('the source tree is out of reach, whatever PYTHONPATH says', () => {
  // shared/ exists in the repository but is not in this package
  const leaky = fn('import shared.settings\n\ndef handler(event, context):\n    return None\n');
  const { reports } = check([leaky], { ...process.env, PYTHONPATH: repo });
  assert.deepEqual([reports[0].status, reports[0].error], ['failed', "ModuleNotFoundError: No module named 'shared'"]);
});

test(`a native module built for ${FOREIGN} stops the check as incomplete on this ${HOST} host, not failed`, () => {
  const native = fn('import speed._native\n\ndef handler(event, context):\n    return None\n', {
    layer: [
      ['python/speed/__init__.py', ''],
      ['python/speed/_native' + SO_SUFFIX[FOREIGN], elfHeader(FOREIGN)],
    ],
    architecture: FOREIGN,
  });
  const { status, reports } = check([native]);
  assert.equal(status, 0);
  assert.equal(reports[0].status, 'incomplete');
  assert.match(reports[0].error, new RegExp(`stopped at native module speed\\._native \\(_native${SO_SUFFIX[FOREIGN].replace(/\./g, '\\.')}\\) built for ${FOREIGN}`));
});
