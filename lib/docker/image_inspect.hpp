#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace assetctl::docker {

// What `<engine> image inspect <image>` says about one local image, as the native push needs it.
struct ImageInspect {
    std::string id;                     // "sha256:<hex>" (podman's bare hex gets the prefix)
    std::vector<std::string> diff_ids;  // RootFS.Layers, in order, "sha256:<hex>"
    std::string os;
    std::string architecture;
    std::string variant;  // may be empty (docker 20.10 omits it for amd64)
};

// Parses the output of `image inspect` for one image (a JSON array of exactly one object; docker
// and podman both print that). Throws EngineError `<what>: malformed answer: <JSON path>: <what
// is wrong>` naming the field (`[0].RootFS.Layers[1]`, ...). `what` names the command.
ImageInspect parse_image_inspect(std::string_view output, const std::string& what);

}  // namespace assetctl::docker
