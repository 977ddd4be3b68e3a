// The CDK app that bench/engine.sh publishes: 4 docker image assets, deployed to 3 regions.
//
//   ENGINE_CONTEXTS=<dir> CDK_OUTDIR=<cdk.out> node bench/app-engine/app.js
//
// One stack per region (account 111111111111; us-east-1, us-west-2, eu-west-1), each holding the
// same 4 DockerImageAssets (api, web, worker, jobs) built from the contexts that
// bench/lib/engine_images.py writes into $ENGINE_CONTEXTS (FROM local/engine-base:g1 + COPY
// layers). The same image thus goes to the 3 regions' container asset repositories: 3 asset
// manifests, 4 images each, one destination per image and manifest, as `cdk synth` writes it for
// an app deployed to 3 regions.
//
// aws-cdk-lib comes from bench/app/node_modules (2.273.0, pinned there: cloud assembly schema
// 54, the newest cdk-assets 4.7.3 reads); bench/engine.sh runs `npm ci` there first.
const path = require('path');

const pinned = [path.join(__dirname, '..', 'app')];
const { App, Stack } = require(require.resolve('aws-cdk-lib', { paths: pinned }));
const { DockerImageAsset } = require(require.resolve('aws-cdk-lib/aws-ecr-assets', { paths: pinned }));
const { CfnParameter: SsmParameter } = require(require.resolve('aws-cdk-lib/aws-ssm', { paths: pinned }));

const contexts = process.env.ENGINE_CONTEXTS;
if (!contexts) {
  throw new Error('ENGINE_CONTEXTS must name the folder of build contexts (bench/lib/engine_images.py)');
}

const app = new App({
  outdir: process.env.CDK_OUTDIR || path.join(__dirname, 'cdk.out'),
  stackTraces: false,
  analyticsReporting: false,
  context: { 'aws:cdk:disable-creation-stack-traces': true },
});

const account = '111111111111';
const regions = { UsEast1: 'us-east-1', UsWest2: 'us-west-2', EuWest1: 'eu-west-1' };
const images = ['api', 'web', 'worker', 'jobs'];

for (const [suffix, region] of Object.entries(regions)) {
  const stack = new Stack(app, `Engine${suffix}`, { env: { account, region } });
  for (const name of images) {
    const asset = new DockerImageAsset(stack, `${name}Image`, { directory: path.join(contexts, name) });
    // Something that consumes the image, as an ECS service or a Lambda function would.
    new SsmParameter(stack, `${name}ImageUri`, { type: 'String', value: asset.imageUri });
  }
}

app.synth();
