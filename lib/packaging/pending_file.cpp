#include "packaging/pending_file.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>
#include <unistd.h>

#include "util/error.hpp"

namespace assetctl::packaging {

namespace {

[[noreturn]] void fail(const std::filesystem::path& target, const std::string& what, int error) {
    throw util::Fatal(util::ExitCode::assets_failed,
                      target.string() + ": " + what + ": " + util::errno_message(error));
}

}  // namespace

PendingFile::PendingFile(std::filesystem::path target) : target_(std::move(target)) {
    std::string pattern = target_.string() + ".tmp-XXXXXX";
    fd_ = util::Fd(::mkstemp(pattern.data()));
    if (!fd_) {
        fail(target_, "cannot create a file beside it", errno);
    }
    temporary_ = pattern;
}

PendingFile::~PendingFile() {
    if (!committed_) {
        ::unlink(temporary_.c_str());
    }
}

void PendingFile::commit() {
    if (::fdatasync(fd_.get()) != 0) {
        fail(temporary_, "cannot flush it to disk", errno);
    }
    try {
        fd_.close();
    } catch (const std::system_error& e) {
        fail(temporary_, "cannot write it", e.code().value());
    }
    if (::rename(temporary_.c_str(), target_.c_str()) != 0) {
        fail(target_, "cannot rename " + temporary_.filename().string() + " into place", errno);
    }
    committed_ = true;
}

}  // namespace assetctl::packaging
