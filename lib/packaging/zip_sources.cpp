#include "packaging/zip_sources.hpp"

#include <algorithm>
#include <cerrno>
#include <deque>
#include <sys/stat.h>
#include <system_error>

#include "util/error.hpp"
#include "util/fd.hpp"

namespace assetctl::packaging {

namespace fs = std::filesystem;

namespace {

struct FolderId {
    dev_t device = 0;
    ino_t inode = 0;
    bool operator==(const FolderId&) const = default;
};

struct PendingFolder {
    fs::path path;
    std::string prefix;               // entry name prefix, "" or ending in '/'
    std::vector<FolderId> ancestors;  // this folder and every folder above it
};

[[noreturn]] void refuse(const fs::path& path, const std::string& why) {
    throw util::Fatal(util::ExitCode::input, path.string() + ": " + why,
                      "zip packaging follows symlinks; fix or remove the link");
}

// The names in `folder`, in byte order (std::string compares as unsigned char, like strcmp).
std::vector<std::string> sorted_names(const fs::path& folder) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        names.push_back(it->path().filename().string());
    }
    if (ec) {
        throw util::Fatal(util::ExitCode::input,
                          folder.string() + ": cannot read the folder: " + ec.message());
    }
    std::sort(names.begin(), names.end());
    return names;
}

// stat() following symlinks, with a message that tells a dangling link or a loop apart.
struct stat stat_following(const fs::path& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0) {
        return info;
    }
    const int error = errno;
    struct stat link {};
    const bool is_link = ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode);
    if (is_link && error == ENOENT) {
        std::error_code ec;
        refuse(path, "dangling symlink (it points to '" + fs::read_symlink(path, ec).string() +
                         "', which does not exist)");
    }
    if (error == ELOOP) {
        refuse(path, "symlink loop (too many levels of symbolic links)");
    }
    throw util::Fatal(util::ExitCode::input,
                      path.string() + ": cannot read it: " + util::errno_message(error));
}

void visit(const PendingFolder& folder, std::deque<PendingFolder>& pending,
           std::vector<ZipSource>& sources) {
    for (const std::string& name : sorted_names(folder.path)) {
        const fs::path path = folder.path / name;
        const struct stat info = stat_following(path);
        if (S_ISREG(info.st_mode)) {
            sources.push_back({folder.prefix + name, path});
        } else if (S_ISDIR(info.st_mode)) {
            const FolderId id{info.st_dev, info.st_ino};
            if (std::find(folder.ancestors.begin(), folder.ancestors.end(), id) !=
                folder.ancestors.end()) {
                refuse(path, "symlink loop (it leads back to a folder that contains it)");
            }
            PendingFolder sub{path, folder.prefix + name + "/", folder.ancestors};
            sub.ancestors.push_back(id);
            pending.push_back(std::move(sub));
        }
    }
}

}  // namespace

std::vector<ZipSource> list_zip_sources(const fs::path& directory) {
    const struct stat root = stat_following(directory);
    if (!S_ISDIR(root.st_mode)) {
        throw util::Fatal(util::ExitCode::input, directory.string() + ": not a folder");
    }
    std::deque<PendingFolder> pending;
    pending.push_back({directory, "", {FolderId{root.st_dev, root.st_ino}}});
    std::vector<ZipSource> sources;
    while (!pending.empty()) {
        const PendingFolder folder = std::move(pending.front());
        pending.pop_front();
        visit(folder, pending, sources);
    }
    return sources;
}

}  // namespace assetctl::packaging
