'use strict';

// python-packaging: a local Serverless plugin that finishes what serverless-python-requirements
// starts, for Python functions on Lambda.
//
// 1. After packaging (before osls hashes the artifacts into the template), every function
//    zip and layer zip is rewritten by python/repack.py: bytecode compiled ahead by Python
//    3.12 (hash-based .pyc), entries sorted, timestamps fixed, so the same inputs give
//    byte-identical zips.
// 2. Once the template is complete, python/import_check.py unpacks each function with its
//    layers into a clean directory and imports its handler in an isolated Python 3.12 with
//    only what Lambda would provide, failing the build on error.
// 3. `sls package` skips osls' comparison with the deployed layer (lib/offline-layers.js).
//
// List it after serverless-python-requirements, whose layer it rewrites.

const fs = require('fs');
const path = require('path');
const { skipLayerComparisonWhenPackaging } = require('./lib/offline-layers');
const { resolveEnvironment } = require('./lib/environment');
const { runScript } = require('./lib/python');

// What the Lambda python3.12 runtime provides, linked into the import check from a local
// environment (boto3 is taken from the runtime, not bundled).
const RUNTIME_DISTRIBUTIONS = ['boto3', 'botocore', 's3transfer', 'jmespath', 'python-dateutil', 'six', 'urllib3'];
const REQUIREMENTS_LAYER = 'pythonRequirements';

function requirementNames(file) {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line && !line.startsWith('-'))
    .map((line) => line.split(/[\s=<>~!;[]/)[0]);
}

class PythonPackaging {
  constructor(serverless, options, utils) {
    this.serverless = serverless;
    this.options = options || {};
    this.log = (utils && utils.log) || null;
    skipLayerComparisonWhenPackaging(serverless, this.log);
    this.hooks = {
      'after:package:createDeploymentArtifacts': () => this.compileAndRepack(),
      // `sls deploy function -f NAME` repackages that function alone (its layers stay)
      'after:deploy:function:packageFunction': () => this.compileAndRepack(this.options.function),
      'before:aws:package:finalize:saveServiceState': () => this.checkImports(),
    };
  }

  notice(message) {
    if (this.log) this.log.notice(message);
    else console.log(message); // eslint-disable-line no-console
  }

  fail(message, code) {
    throw new this.serverless.classes.Error(message, code);
  }

  pythonBin() {
    const custom = this.serverless.service.custom || {};
    return (custom.pythonRequirements && custom.pythonRequirements.pythonBin) || 'python3.12';
  }

  resolvePath(file) {
    return path.isAbsolute(file) ? file : path.resolve(this.serverless.serviceDir, file);
  }

  pythonFunctions() {
    const service = this.serverless.service;
    return service
      .getAllFunctions()
      .map((name) => ({ name, fn: service.getFunction(name) }))
      .filter(({ fn }) => !fn.image && (fn.runtime || service.provider.runtime || '').startsWith('python'));
  }

  functionArtifact(fn) {
    const artifact = (fn.package && fn.package.artifact) || this.serverless.service.package.artifact;
    return artifact ? this.resolvePath(artifact) : null;
  }

  layerArtifacts() {
    const layers = this.serverless.service.layers || {};
    return Object.fromEntries(
      Object.entries(layers).map(([name, layer]) => {
        const artifact = (layer.package && layer.package.artifact) || layer.artifact;
        return [name, artifact ? this.resolvePath(artifact) : null];
      })
    );
  }

  /** Layers of this service that Python functions use (as declared: {Ref: <Name>LambdaLayer}). */
  pythonLayerNames() {
    const service = this.serverless.service;
    const naming = this.serverless.getProvider('aws').naming;
    const byLogicalId = new Map(Object.keys(service.layers || {}).map((name) => [naming.getLambdaLayerLogicalId(name), name]));
    const used = new Set();
    for (const { fn } of this.pythonFunctions()) {
      for (const ref of fn.layers || service.provider.layers || []) {
        const name = ref && ref.Ref && byLogicalId.get(ref.Ref);
        if (name) used.add(name);
      }
    }
    return [...used];
  }

  compileAndRepack(onlyFunction = null) {
    const archives = new Map();
    for (const { name, fn } of this.pythonFunctions()) {
      if (onlyFunction && name !== onlyFunction) continue;
      const artifact = this.functionArtifact(fn);
      if (artifact) archives.set(artifact, '/var/task');
    }
    const layerArtifacts = onlyFunction ? {} : this.layerArtifacts();
    for (const name of this.pythonLayerNames()) {
      if (layerArtifacts[name]) archives.set(layerArtifacts[name], '/opt');
    }
    // Only build outputs are rewritten, never a prebuilt artifact from the source tree.
    const buildDir = path.join(this.serverless.serviceDir, '.serverless') + path.sep;
    for (const file of [...archives.keys()]) {
      if (!file.startsWith(buildDir)) {
        archives.delete(file);
        this.notice(`  ${path.relative(this.serverless.serviceDir, file)}: prebuilt artifact, bytecode not added`);
      }
    }
    if (!archives.size) return;
    const spec = { archives: [...archives].map(([file, root]) => ({ path: file, root })) };
    const { status, reports, stderr } = runScript(this.pythonBin(), 'repack.py', spec, this.serverless.classes.Error);
    if (status !== 0) {
      this.fail(`Compiling bytecode into the packages failed: ${stderr || `exit status ${status}`}`, 'PYTHON_PACKAGING_REPACK');
    }
    const done = reports.filter((report) => !report.skipped);
    const compiled = done.reduce((sum, report) => sum + report.compiled, 0);
    this.notice(
      `Bytecode compiled ahead (Python 3.12, checked-hash .pyc): ${compiled} modules in ` +
        `${done.length} reproducible zips`
    );
    for (const report of reports.filter((r) => r.skipped)) {
      this.notice(`  ${path.basename(report.path)}: not rewritten, ${report.skipped}`);
    }
    for (const report of done.filter((r) => r.failed.length)) {
      this.notice(`  ${path.basename(report.path)}: left as source (does not compile): ${report.failed.join(', ')}`);
    }
  }

  /** .serverless/python-packaging.json: what was checked and how (read by bench/packaging.py). */
  writeReport(spec, reports) {
    const serviceDir = this.serverless.serviceDir;
    const relative = (file) => path.relative(serviceDir, file);
    const functions = spec.functions.map((fn) => ({ ...fn, archive: relative(fn.archive), layers: fn.layers.map(relative) }));
    fs.writeFileSync(
      path.join(serviceDir, '.serverless', 'python-packaging.json'),
      `${JSON.stringify({ runtimeDistributions: spec.runtimeDistributions, functions, reports }, null, 2)}\n`
    );
  }

  checkImports() {
    const service = this.serverless.service;
    const provider = this.serverless.getProvider('aws');
    const template = service.provider.compiledCloudFormationTemplate;
    const layerArtifacts = this.layerArtifacts();
    const layersByLogicalId = new Map(
      Object.keys(layerArtifacts).map((name) => [provider.naming.getLambdaLayerLogicalId(name), name])
    );
    const context = { region: provider.getRegion(), stackName: provider.naming.getStackName(), template };
    const requirements = requirementNames(path.join(this.serverless.serviceDir, '.serverless', 'requirements.txt'));
    const functions = [];
    for (const { name, fn } of this.pythonFunctions()) {
      const resource = template.Resources[provider.naming.getLambdaLogicalId(name)] || { Properties: {} };
      const properties = resource.Properties || {};
      const layers = [];
      let usesRequirements = false;
      for (const ref of properties.Layers || []) {
        const layerName = ref && ref.Ref && layersByLogicalId.get(ref.Ref);
        if (!layerName) {
          this.notice(`Import check of ${name}: layer ${JSON.stringify(ref)} is not part of this service and is left out`);
          continue;
        }
        if (!layerArtifacts[layerName]) this.fail(`Import check of ${name}: layer ${layerName} has no artifact`, 'PYTHON_PACKAGING_NO_LAYER');
        layers.push(layerArtifacts[layerName]);
        usesRequirements = usesRequirements || layerName === REQUIREMENTS_LAYER;
      }
      functions.push({
        name,
        functionName: fn.name || name,
        handler: fn.handler,
        archive: this.functionArtifact(fn),
        layers,
        architecture: fn.architecture || service.provider.architecture || 'x86_64',
        memory: properties.MemorySize || 1024,
        environment: resolveEnvironment(properties.Environment && properties.Environment.Variables, context),
        distributions: usesRequirements ? requirements : [],
      });
    }
    if (!functions.length) return;
    const spec = {
      python: this.pythonBin(),
      region: context.region,
      runtimeSitePackages:
        process.env.DOCFLOW_RUNTIME_SITE_PACKAGES ||
        path.join(this.serverless.serviceDir, '.venv', 'lib', 'python3.12', 'site-packages'),
      runtimeDistributions: RUNTIME_DISTRIBUTIONS,
      functions,
    };
    const { reports, stderr } = runScript(this.pythonBin(), 'import_check.py', spec, this.serverless.classes.Error);
    this.writeReport(spec, reports);
    if (reports.length !== functions.length) {
      this.fail(`The import check did not report on every function: ${stderr}`, 'PYTHON_PACKAGING_IMPORT_CHECK');
    }
    const lines = reports.map((report) => {
      const timing = report.seconds === undefined ? '' : ` (${Math.round(report.seconds * 1000)} ms)`;
      return `  ${report.function}: ${report.status}${timing}${report.status === 'ok' ? '' : ` - ${report.error}`}`;
    });
    this.notice(`Import check of the packaged handlers (Python 3.12, isolated):\n${lines.join('\n')}`);
    const failed = reports.filter((report) => report.status === 'failed');
    if (failed.length) {
      this.fail(
        `Packaged handlers fail to import (${failed.length}):\n` +
          failed
            .map((report) => `  - ${report.function}: ${report.error}${report.traceback ? `\n${report.traceback.trimEnd().split('\n').slice(-6).map((l) => `      ${l}`).join('\n')}` : ''}`)
            .join('\n'),
        'PYTHON_PACKAGING_IMPORT_CHECK'
      );
    }
  }
}

module.exports = PythonPackaging;
