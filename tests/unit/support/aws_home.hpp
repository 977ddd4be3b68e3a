#pragma once

#include <string>
#include <string_view>

#include "aws/shared_config.hpp"
#include "support/temp_dir.hpp"
#include "util/environment.hpp"

namespace assetctl::test {

// An environment whose HOME is a fresh temporary folder, so the default shared files are
// <dir>/.aws/config and <dir>/.aws/credentials.
struct AwsHome {
    TempDir dir;
    util::MapEnvironment env;

    AwsHome() { env.set("HOME", dir.path().string()); }
    void config(std::string_view text) const { dir.write(".aws/config", text); }
    void credentials(std::string_view text) const { dir.write(".aws/credentials", text); }
    aws::SharedConfig load() const { return aws::SharedConfig::load(env); }
    // The full path of a file in the folder.
    std::string path(std::string_view relative) const { return (dir.path() / relative).string(); }
    // Writes a file and returns its full path.
    std::string file(std::string_view relative, std::string_view content) const {
        return dir.write(relative, content).string();
    }
};

}  // namespace assetctl::test
