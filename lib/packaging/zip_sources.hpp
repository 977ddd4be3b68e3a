#pragma once

// Internal to the packaging module: which files a zip of a folder holds, in which order.

#include <filesystem>
#include <string>
#include <vector>

namespace assetctl::packaging {

struct ZipSource {
    std::string name;            // the entry name: relative to the folder, `/`-separated
    std::filesystem::path file;  // where to read it (symlinks not resolved)
};

// Every regular file under `directory`, symlinks followed, in the order cdk-assets 4.7.3 lists
// them (fast-glob `**` with dot files, only files, symlinks followed, no sort): level by level,
// each folder's entries in the byte order of their names (Node's readdir returns them sorted
// with strcmp), and a folder's subfolders read in that same order after every folder of the
// level above. Folders, empty or not, are no entries; FIFOs, sockets and devices are left out.
// Throws util::Fatal naming the path for a dangling symlink, a symlink loop (a folder that
// leads back to one of its ancestors) or a folder that cannot be read.
std::vector<ZipSource> list_zip_sources(const std::filesystem::path& directory);

}  // namespace assetctl::packaging
