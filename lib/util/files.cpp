#include "util/files.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include "util/fd.hpp"
#include "util/run_folders.hpp"

namespace assetctl::util {

std::string read_file(const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw FileError(path.string() + ": is a directory, expected a file");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw FileError(path.string() + ": cannot open: " + errno_message(errno));
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
        throw FileError(path.string() + ": read failed: " + errno_message(errno));
    }
    return buffer.str();
}

namespace {

// Removes the temporary file unless it was renamed into place.
class TemporaryName {
  public:
    explicit TemporaryName(std::string name) : name_(std::move(name)) {}
    ~TemporaryName() {
        if (!name_.empty()) {
            ::unlink(name_.c_str());
        }
    }
    TemporaryName(const TemporaryName&) = delete;
    TemporaryName& operator=(const TemporaryName&) = delete;
    const std::string& name() const { return name_; }
    void renamed() { name_.clear(); }

  private:
    std::string name_;
};

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes,
                           std::filesystem::perms mode) {
    std::string pattern = path.string() + ".tmp-XXXXXX";
    Fd fd(::mkstemp(pattern.data()));  // O_EXCL, 0600
    if (!fd) {
        throw FileError(path.string() +
                        ": cannot create a file beside it: " + errno_message(errno));
    }
    TemporaryName temp(pattern);
    try {
        if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
            throw std::system_error(errno, std::generic_category(), "chmod");
        }
        write_all(fd.get(), bytes);
        fd.close();
    } catch (const std::system_error& e) {
        throw FileError(temp.name() + ": cannot write: " + errno_message(e.code().value()));
    }
    if (::rename(temp.name().c_str(), path.c_str()) != 0) {
        throw FileError(path.string() + ": cannot replace it: " + errno_message(errno));
    }
    temp.renamed();
}

void create_private_directories(const std::filesystem::path& dir) {
    std::filesystem::path so_far;
    for (const auto& part : dir) {
        so_far /= part;
        if (::mkdir(so_far.c_str(), 0700) == 0) {
            continue;
        }
        const int error = errno;
        struct stat info {};
        if (error == EEXIST && ::stat(so_far.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
            continue;
        }
        throw FileError("cannot create " + so_far.string() + ": " +
                        errno_message(error == EEXIST ? ENOTDIR : error));
    }
}

bool is_within(const std::filesystem::path& inner, const std::filesystem::path& outer) {
    std::error_code ec;
    const auto a = std::filesystem::weakly_canonical(std::filesystem::absolute(inner), ec);
    if (ec) {
        return false;
    }
    const auto b = std::filesystem::weakly_canonical(std::filesystem::absolute(outer), ec);
    if (ec) {
        return false;
    }
    auto ai = a.begin();
    for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
        if (bi->empty()) {
            continue;  // trailing separator
        }
        if (ai == a.end() || *ai != *bi) {
            return false;
        }
    }
    return true;
}

std::size_t read_at(int fd, char* buffer, std::size_t size, std::uint64_t offset) {
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n =
            ::pread(fd, buffer + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::system_error(errno, std::generic_category(), "pread");
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

PrivateDirectory::PrivateDirectory(std::string_view kind) : path_(make_run_folder(kind)) {}

void PrivateDirectory::keep() noexcept {
    keep_ = true;
    // Without the run id the next run's remove_stale_run_folders leaves it for the user.
    const auto name = without_run_id(path_.filename().string());
    if (!name) {
        return;
    }
    const auto kept = path_.parent_path() / *name;
    std::error_code ec;
    std::filesystem::rename(path_, kept, ec);
    if (!ec) {
        path_ = kept;
    }
}

PrivateDirectory::~PrivateDirectory() {
    if (!keep_) {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
}

}  // namespace assetctl::util
