#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace assetctl::image {

struct ArchiveEntry {
    enum class Type { file, directory, symlink, hardlink };
    // Normalised: no leading "./" or "/", no "." components, no trailing "/".
    std::string name;
    Type type = Type::file;
    std::uint64_t size = 0;         // files only
    std::uint64_t data_offset = 0;  // files only: where the bytes start in data_file()
    // Links only: the target as an archive-relative normalised name (a symlink's relative
    // target is resolved against the link's folder; a hardlink names an entry directly).
    std::string link_target;
};

// `name` normalised like ArchiveEntry::name ("./a//b/./c/" -> "a/b/c"); nullopt when it is
// absolute or has a ".." component. The archive root itself ("", ".", "./") gives "".
std::optional<std::string> normalize_archive_name(std::string_view name);

// A tar header as the archive states it, before anything is trusted: what classify_entry
// decides on. Filled from libarchive by the reader; plain data so the rules can be tested alone.
struct RawEntry {
    enum class Kind { file, directory, symlink, char_device, block_device, fifo, socket, other };
    std::string name;  // as stored (never normalised)
    Kind kind = Kind::file;
    std::int64_t size = 0;  // files: as the header says (negative = corrupt)
    bool sparse = false;
    // A hardlink's target as stored (a hardlink has no kind of its own in libarchive).
    std::optional<std::string> hardlink;
    std::string symlink;  // a symlink's target as stored
};

// What to do with one entry: keep it, skip it (the archive root "./"), or refuse the whole
// archive, with the reason worded to follow the entry's name ("has an absolute name").
struct EntryDecision {
    enum class Verdict { accept, skip, refuse };
    Verdict verdict = Verdict::accept;
    ArchiveEntry entry;  // accept: normalised, data_offset still 0
    std::string reason;  // refuse

    static EntryDecision refuse(std::string reason);
};

// The refusal rules, in the order they are checked: an absolute name, a ".." component, a
// sparse file, a hardlink to a name outside the archive, a negative size, a symlink without a
// target, to an absolute path or leaving the archive once resolved against its folder, device
// nodes, FIFOs, sockets and other types, an empty name (other than the root folder), and a name
// already in `seen` (normalised names of the entries accepted so far).
EntryDecision classify_entry(const RawEntry& raw,
                             const std::map<std::string, std::size_t, std::less<>>& seen);

// The one rule that needs every entry: a hardlink must name an entry of the archive. Returns
// the first offending entry and the reason, or nullopt.
struct EntryRefusal {
    std::string entry;
    std::string reason;
};
std::optional<EntryRefusal> check_hardlink_targets(
    const std::vector<ArchiveEntry>& entries,
    const std::map<std::string, std::size_t, std::less<>>& by_name);

}  // namespace assetctl::image
