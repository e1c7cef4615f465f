'use strict';

// Lets `sls package` run with no AWS credentials and no network, as it does without layers.
//
// osls compiles a layer and then asks CloudFormation (DescribeStacks) whether the last
// deployed stack already holds a layer with the same hash, to skip re-uploading it. That
// is an upload optimisation, meaningful only for `deploy`; during a bare `package` (CI, a
// laptop without credentials) it fails with "AWS provider credentials not found". This
// plugin skips the comparison for the `package` command only; `deploy` keeps it.
class OfflinePackage {
  constructor(serverless) {
    const command = (serverless.processedInput && serverless.processedInput.commands) || [];
    if (command[0] !== 'package') return;
    const compiler = serverless.pluginManager.plugins.find(
      (plugin) => plugin.constructor.name === 'AwsCompileLayers'
    );
    if (compiler) compiler.compareWithLastLayer = async () => undefined;
  }
}

module.exports = OfflinePackage;
