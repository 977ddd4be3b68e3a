#pragma once

#include <filesystem>
#include <vector>

#include "manifest/model.hpp"

namespace assetctl::manifest {

// Every asset manifest reachable from the input, in the order manifest.json lists them.
struct Assembly {
    // The top-level folder. Asset directories and tarballs must stay inside it (nested stage
    // assemblies refer to assets one level up, `../asset.<hash>`, so this is not the manifest's
    // own folder; a stage's assembly read on its own has the outermost assembly nesting it).
    std::filesystem::path root;
    std::vector<AssetManifest> manifests;
    // Assets described only by `aws:cdk:asset` stack metadata (CDK v1's legacy synthesis, or
    // CDK v2's LegacyStackSynthesizer), counted by asset id over every stack, nested
    // assemblies included. Neither cdk-assets nor assetctl publishes them.
    std::size_t legacy_assets = 0;
};

// The input is one of:
//  - a cloud assembly folder (`cdk.out`): read manifest.json, take every `cdk:asset-manifest`
//    artifact and recurse into every `cdk:cloud-assembly` artifact (Stages);
//  - a cloud assembly's manifest.json;
//  - a single `*.assets.json` file.
// Throws ManifestError (exit code `input`) for a missing input, malformed files, unknown
// schema versions, missing nested assemblies and loops between nested assemblies, and
// util::Fatal (exit code `input`) for a legacy-synthesized (CDK v1) assembly: stacks with
// `aws:cdk:asset` metadata and no asset manifest at all, where listing nothing would look like
// "nothing to publish". Beside asset manifests, such assets are counted and logged as a warning.
Assembly load_assembly(const std::filesystem::path& input);

}  // namespace assetctl::manifest
