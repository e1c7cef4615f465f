'use strict';

// `sls package` should need no AWS account. osls compiles every layer and then asks
// CloudFormation (DescribeStacks) whether the same layer was already uploaded, to reuse its
// S3 key on deploy; offline or without credentials that call fails the whole package. The
// comparison only saves an upload, so for the `package` command it is skipped; `sls deploy`
// (which packages through the same lifecycle) keeps it.

function skipLayerComparisonWhenPackaging(serverless, log) {
  const commands = (serverless.processedInput && serverless.processedInput.commands) || [];
  if (commands.join(' ') !== 'package') return false;
  const compiler = serverless.pluginManager.plugins.find(
    (plugin) => typeof plugin.compareWithLastLayer === 'function'
  );
  if (!compiler) return false;
  compiler.compareWithLastLayer = async (layerName) => {
    if (log) log.info(`Layer ${layerName}: not compared with the deployed stack (sls package)`);
  };
  return true;
}

module.exports = { skipLayerComparisonWhenPackaging };
