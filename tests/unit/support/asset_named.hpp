#pragma once

#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "manifest/model.hpp"

namespace assetctl::test {

// The docker image asset of `manifest` with this display name; fails the test when none has it.
inline const manifest::DockerImageAsset& asset_named(const manifest::AssetManifest& manifest,
                                                     const std::string& display_name) {
    for (const auto& asset : manifest.docker_images) {
        if (asset.display_name == display_name) {
            return asset;
        }
    }
    FAIL("no docker image asset named " << display_name << " in " << manifest.origin.file);
    throw std::logic_error("unreachable");
}

}  // namespace assetctl::test
