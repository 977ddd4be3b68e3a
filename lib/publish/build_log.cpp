#include "publish/build_log.hpp"

namespace assetctl::publish {

BuildLog::BuildLog(const std::filesystem::path& directory, const std::string& asset) {
    if (directory.empty()) {
        return;
    }
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    out_.open(directory / (asset + ".log"), std::ios::trunc);
}

void BuildLog::write(std::string_view line) {
    if (out_) {
        out_ << line << '\n';
    }
}

}  // namespace assetctl::publish
