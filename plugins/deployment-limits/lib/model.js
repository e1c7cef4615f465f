'use strict';

// Builds the measurable model (functions, layers, compiled template, artifact paths) from a
// Serverless instance after packaging.

const fs = require('fs');
const path = require('path');

function resolveArtifact(artifact, serviceDir, packagePath) {
  if (!artifact) return null;
  const candidates = [
    path.isAbsolute(artifact) ? artifact : path.resolve(serviceDir, artifact),
    path.join(packagePath, path.basename(artifact)),
    path.join(serviceDir, '.serverless', path.basename(artifact)),
  ];
  return candidates.find((candidate) => fs.existsSync(candidate)) || candidates[0];
}

function fromServerless(serverless, options = {}) {
  const service = serverless.service;
  const provider = serverless.getProvider('aws');
  const naming = provider.naming;
  const serviceDir = serverless.serviceDir || process.cwd();
  const packagePath = path.resolve(
    serviceDir,
    options.package || (service.package && service.package.path) || '.serverless'
  );
  const template = options.template || service.provider.compiledCloudFormationTemplate || { Resources: {} };
  const servicePackage = service.package || {};
  const defaultArtifact = servicePackage.artifact || path.join(packagePath, `${service.service}.zip`);

  const functions = service.getAllFunctions().map((name) => {
    const fn = service.getFunction(name);
    const own = fn.package || {};
    const individually = own.individually || servicePackage.individually;
    const artifact = own.artifact || (individually ? null : defaultArtifact);
    return {
      name,
      logicalId: naming.getLambdaLogicalId(name),
      image: Boolean(fn.image),
      artifact: fn.image ? null : resolveArtifact(artifact, serviceDir, packagePath),
      events: fn.events || [],
      layers: fn.layers || service.provider.layers || [],
      environment: { ...(service.provider.environment || {}), ...(fn.environment || {}) },
      timeout: fn.timeout || service.provider.timeout,
      memorySize: fn.memorySize || service.provider.memorySize,
    };
  });
  const layers = Object.entries(service.layers || {}).map(([name, layer]) => ({
    name,
    logicalId: naming.getLambdaLayerLogicalId(name),
    artifact: resolveArtifact(
      (layer.package && layer.package.artifact) || layer.artifact,
      serviceDir,
      packagePath
    ),
  }));
  return { template, functions, layers, serviceDir, packagePath };
}

module.exports = { fromServerless, resolveArtifact };
