// Example CDK app for the assetctl README. `node app.js` writes ./cdk.out;
// then e.g. `assetctl ls cdk.out` / `assetctl publish cdk.out`.
//
// Two stacks in one account and two regions with three Docker image assets.
// Every image is FROM scratch with COPY only, so no base image is pulled.
// The "web" image is used by both stacks: one asset, built once, pushed to
// the container-assets repository of each region.
const path = require('path');
const { App, Stack } = require('aws-cdk-lib');
const { DockerImageAsset } = require('aws-cdk-lib/aws-ecr-assets');
const { CfnParameter: SsmParameter } = require('aws-cdk-lib/aws-ssm');

const app = new App({
  outdir: process.env.CDK_OUTDIR || path.join(__dirname, 'cdk.out'),
  stackTraces: false, // no absolute paths in the metadata
  context: { 'aws:cdk:disable-creation-stack-traces': true },
});

const account = '123456789012';

function image(stack, name) {
  const asset = new DockerImageAsset(stack, `${name}Image`, {
    directory: path.join(__dirname, 'images', name.toLowerCase()),
  });
  // Something that consumes the image, as an ECS task or Lambda would.
  new SsmParameter(stack, `${name}ImageUri`, { type: 'String', value: asset.imageUri });
}

const usEast = new Stack(app, 'DemoUsEastStack', { env: { account, region: 'us-east-1' } });
image(usEast, 'Web');
image(usEast, 'Api');

const euWest = new Stack(app, 'DemoEuWestStack', { env: { account, region: 'eu-west-1' } });
image(euWest, 'Web');
image(euWest, 'Worker');

app.synth();
