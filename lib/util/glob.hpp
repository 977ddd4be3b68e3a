#pragma once

#include <string_view>

namespace assetctl::util {

// Shell-style wildcard match (`*`, `?`, `[...]`) over the whole text, as fnmatch(3) does it
// without any flags: `*` also matches `/`.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace assetctl::util
