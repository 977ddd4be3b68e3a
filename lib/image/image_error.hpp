#pragma once

#include <stdexcept>
#include <string>

namespace assetctl::image {

// The input image cannot be used: a corrupt or truncated tarball, a hostile entry (absolute
// path, `..`, a link out of the archive), a missing or inconsistent file, an unknown format, a
// tag that is not there. The message names the file (and the entry) and says what is wrong;
// callers add the asset and destination. Never retried.
class ImageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

}  // namespace assetctl::image
