import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../lambda/metric-names';
import { logicalIdOf, synthDetector } from './synth-detector';

/** A graphed metric as the dashboard body lists it: namespace, name, dimension pairs, then its options. */
type MetricRow = [string, string, ...unknown[]];

/**
 * The dashboard body with every CloudFormation token replaced by `<LogicalId>` (or `<LogicalId.Attribute>`),
 * parsed, as the list of its graphs.
 */
function dashboardGraphs(template: Template): Array<{ title: string; metrics: MetricRow[] }> {
  const id = logicalIdOf(template, 'AWS::CloudWatch::Dashboard', 'OperatorDashboard');
  const resources = template.toJSON().Resources as Record<string, { Properties: Record<string, unknown> }>;
  const body = resources[id]?.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const token = part as { Ref?: string; 'Fn::GetAtt'?: string[] };
      return `<${token.Ref ?? token['Fn::GetAtt']?.join('.')}>`;
    })
    .join('');
  const widgets = (
    JSON.parse(text) as { widgets: Array<{ type: string; properties: Record<string, unknown> }> }
  ).widgets;
  return widgets
    .filter((widget) => widget.type === 'metric')
    .map((widget) => ({
      title: widget.properties.title as string,
      metrics: widget.properties.metrics as MetricRow[],
    }));
}

/** The graph whose metrics include `metricName`, by title; fails when none does. */
function graphOf(graphs: ReturnType<typeof dashboardGraphs>, namespace: string, metricName: string) {
  const graph = graphs.find((candidate) =>
    candidate.metrics.some(([ns, name]) => ns === namespace && name === metricName),
  );
  if (graph === undefined) throw new Error(`no graph shows ${namespace}/${metricName}`);
  return graph;
}

describe('operator dashboard', () => {
  let template: Template;
  let graphs: ReturnType<typeof dashboardGraphs>;
  beforeAll(() => {
    ({ template } = synthDetector({ createDemoBucket: true }));
    graphs = dashboardGraphs(template);
  });

  it('is named in the DashboardName output', () => {
    template.hasOutput('DashboardName', {
      Value: { Ref: logicalIdOf(template, 'AWS::CloudWatch::Dashboard', 'OperatorDashboard') },
    });
  });

  it.each([
    { case: 'objects processed', metric: METRIC.objectsProcessed },
    { case: 'objects skipped', metric: METRIC.objectsSkipped },
    { case: 'delivery lag', metric: METRIC.deliveryLagSeconds },
    { case: 'matching events', metric: METRIC.matchingEvents },
    { case: 'alerts published', metric: METRIC.alertsPublished },
    { case: 'alerts suppressed', metric: METRIC.alertsSuppressed },
    { case: 'alerts covered', metric: METRIC.alertsCovered },
    { case: 'building-block findings', metric: METRIC.buildingBlockFindings },
    { case: 'poison objects', metric: METRIC.poisonObjects },
  ])('graphs $case with the service dimension Powertools adds', ({ metric }) => {
    const rows = graphOf(graphs, METRICS_NAMESPACE, metric).metrics.filter(([, name]) => name === metric);
    for (const row of rows) expect(row.slice(2, 4)).toEqual(['service', SERVICE_NAME]);
  });

  it.each(['Errors', 'Throttles'])('graphs the detector function’s %s', (metricName) => {
    const row = graphOf(graphs, 'AWS/Lambda', metricName).metrics.find(([, name]) => name === metricName);
    expect(row?.slice(2, 4)).toEqual([
      'FunctionName',
      `<${logicalIdOf(template, 'AWS::Lambda::Function', 'DetectorFunction')}>`,
    ]);
  });

  it('graphs the failure queue’s depth', () => {
    const failureQueue = logicalIdOf(template, 'AWS::SQS::Queue', 'DetectorFailureQueue');
    const rows = graphOf(graphs, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible').metrics;
    expect(rows.map((row) => row.slice(1, 4))).toContainEqual([
      'ApproximateNumberOfMessagesVisible',
      'QueueName',
      `<${failureQueue}.QueueName>`,
    ]);
  });

  it('takes the name given as dashboardName', () => {
    const { template: named } = synthDetector({
      createDemoBucket: true,
      dashboardName: 'secops-regionsweep',
    });
    named.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'secops-regionsweep' });
  });
});
