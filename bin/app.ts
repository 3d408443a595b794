import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addOrganizationLayout, parseOrganizationContext } from '../lib/cdk/organization/organization-layout';
import { RegionSweepStack } from '../lib/cdk/region-sweep-stack';
import { parseStackContext } from '../lib/cdk/stack-context';
import { loadRuleFiles } from '../lib/rules/rule-files';

// Entry point only: read context, build the stacks, run cdk-nag (findings fail the synth).
const app = new App();
const read = (key: Parameters<typeof app.node.tryGetContext>[0]) => app.node.tryGetContext(key);
const settings = parseStackContext(read);
const organization = parseOrganizationContext(read, settings.detector);
const customRules = await loadRuleFiles(settings.ruleFiles);
const detector = customRules.length === 0 ? settings.detector : { ...settings.detector, customRules };
if (organization === undefined) {
  new RegionSweepStack(app, 'RegionSweepStack', {
    stackName: settings.stackName,
    detector,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
} else {
  addOrganizationLayout(app, { organization, detector, stackName: settings.stackName });
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
