import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RegionSweepStack } from '../lib/region-sweep-stack';
import { loadRuleFiles } from '../lib/rules/rule-files';
import { parseStackContext } from '../lib/stack-context';

// Entry point only: read context, build the stack, run cdk-nag (findings fail the synth).
const app = new App();
const settings = parseStackContext((key) => app.node.tryGetContext(key));
const customRules = await loadRuleFiles(settings.ruleFiles);
new RegionSweepStack(app, 'RegionSweepStack', {
  stackName: settings.stackName,
  detector: customRules.length === 0 ? settings.detector : { ...settings.detector, customRules },
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
