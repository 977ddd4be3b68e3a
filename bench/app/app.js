// The CDK app that bench/run.sh publishes with both cdk-assets and assetctl.
// `node app.js` writes ./cdk.out (or $CDK_OUTDIR).
//
// Eight docker image assets in four asset manifests: three top-level stacks and one stack in
// a Stage (a nested cloud assembly), account 111111111111, regions us-east-1 and eu-west-1.
// Four images are FROM scratch + COPY, four are FROM local/busybox:latest + RUN (busybox is
// imported into the bench's private dockerd), so every build works offline.
//
// aws-cdk-lib is pinned to 2.273.0 because it still writes cloud assembly schema 54, the
// newest that cdk-assets 4.7.3 reads (later aws-cdk-lib releases write 55, which it refuses).
const path = require('path');
const { App, Stack, Stage } = require('aws-cdk-lib');
const { DockerImageAsset } = require('aws-cdk-lib/aws-ecr-assets');
const { CfnParameter: SsmParameter } = require('aws-cdk-lib/aws-ssm');

const app = new App({
  outdir: process.env.CDK_OUTDIR || path.join(__dirname, 'cdk.out'),
  stackTraces: false,
  analyticsReporting: false,
  context: { 'aws:cdk:disable-creation-stack-traces': true },
});

const account = '111111111111';

function stackWithImages(scope, id, region, names) {
  const stack = new Stack(scope, id, { env: { account, region } });
  for (const name of names) {
    const asset = new DockerImageAsset(stack, `${name}Image`, {
      directory: path.join(__dirname, 'images', name),
    });
    // Something that consumes the image, as an ECS service or a Lambda function would.
    new SsmParameter(stack, `${name}ImageUri`, { type: 'String', value: asset.imageUri });
  }
  return stack;
}

stackWithImages(app, 'BenchApi', 'us-east-1', ['api', 'web']);
stackWithImages(app, 'BenchWorkers', 'eu-west-1', ['worker', 'cron']);
stackWithImages(app, 'BenchShared', 'us-east-1', ['auth', 'billing']);

const prod = new Stage(app, 'Prod', { env: { account, region: 'eu-west-1' } });
stackWithImages(prod, 'Service', 'eu-west-1', ['reports', 'gateway']);

app.synth();
