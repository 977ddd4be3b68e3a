#include "image/archive_entry.hpp"

#include <utility>

#include "image/quote.hpp"

namespace assetctl::image {

namespace {

// Calls `visit` with each '/'-separated part of `name`, empty ones included.
template <typename Visit>
void for_each_part(std::string_view name, Visit visit) {
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find('/', start);
        if (end == std::string_view::npos) {
            end = name.size();
        }
        visit(name.substr(start, end - start));
        start = end + 1;
    }
}

bool has_dot_dot(std::string_view name) {
    bool found = false;
    for_each_part(name, [&found](std::string_view part) { found = found || part == ".."; });
    return found;
}

// Splits a relative name into its components, dropping empty ones and ".".
std::vector<std::string_view> components(std::string_view name) {
    std::vector<std::string_view> parts;
    for_each_part(name, [&parts](std::string_view part) {
        if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
    });
    return parts;
}

std::string join(const std::vector<std::string_view>& parts) {
    std::string out;
    for (const auto part : parts) {
        if (!out.empty()) {
            out += '/';
        }
        out += part;
    }
    return out;
}

// A symlink's target resolved lexically against the link's folder; nullopt when it climbs
// above the archive root.
std::optional<std::string> resolve_symlink_target(std::string_view link_name,
                                                  std::string_view target) {
    std::vector<std::string_view> parts = components(link_name);
    if (!parts.empty()) {
        parts.pop_back();  // the link itself
    }
    bool escapes = false;
    for_each_part(target, [&](std::string_view part) {
        if (part == "..") {
            if (parts.empty()) {
                escapes = true;
            } else {
                parts.pop_back();
            }
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
    });
    if (escapes) {
        return std::nullopt;
    }
    return join(parts);
}

// Fills `entry` (type, size, link target) from a header that is not a hardlink; a refusal
// reason when its type or content is not acceptable.
std::optional<std::string> classify_by_kind(const RawEntry& raw, ArchiveEntry& entry) {
    switch (raw.kind) {
        case RawEntry::Kind::file:
            if (raw.size < 0) {
                return "has a negative size";
            }
            entry.type = ArchiveEntry::Type::file;
            entry.size = static_cast<std::uint64_t>(raw.size);
            return std::nullopt;
        case RawEntry::Kind::directory:
            entry.type = ArchiveEntry::Type::directory;
            return std::nullopt;
        case RawEntry::Kind::symlink: {
            if (raw.symlink.empty()) {
                return "is a symlink without a target";
            }
            if (raw.symlink.front() == '/') {
                return "is a symlink to the absolute path " + quote(raw.symlink);
            }
            const auto target = resolve_symlink_target(entry.name, raw.symlink);
            if (!target) {
                return "is a symlink to " + quote(raw.symlink) + ", which leaves the archive";
            }
            entry.type = ArchiveEntry::Type::symlink;
            entry.link_target = *target;
            return std::nullopt;
        }
        case RawEntry::Kind::char_device:
        case RawEntry::Kind::block_device:
            return "is a device node";
        case RawEntry::Kind::fifo:
            return "is a FIFO";
        case RawEntry::Kind::socket:
            return "is a socket";
        case RawEntry::Kind::other:
            break;
    }
    return "has an unsupported entry type";
}

}  // namespace

std::optional<std::string> normalize_archive_name(std::string_view name) {
    if (!name.empty() && name.front() == '/') {
        return std::nullopt;
    }
    if (has_dot_dot(name)) {
        return std::nullopt;
    }
    return join(components(name));
}

EntryDecision EntryDecision::refuse(std::string reason) {
    EntryDecision decision;
    decision.verdict = Verdict::refuse;
    decision.reason = std::move(reason);
    return decision;
}

EntryDecision classify_entry(const RawEntry& raw,
                             const std::map<std::string, std::size_t, std::less<>>& seen) {
    if (!raw.name.empty() && raw.name.front() == '/') {
        return EntryDecision::refuse("has an absolute name");
    }
    if (has_dot_dot(raw.name)) {
        return EntryDecision::refuse("has a '..' component, which could leave the archive");
    }
    if (raw.sparse) {
        return EntryDecision::refuse("is a sparse file, which image tarballs never contain");
    }
    EntryDecision decision;
    decision.entry.name = *normalize_archive_name(raw.name);
    if (raw.hardlink) {
        const auto target = normalize_archive_name(*raw.hardlink);
        if (!target || target->empty()) {
            return EntryDecision::refuse("is a hardlink to " + quote(*raw.hardlink) +
                                         ", which is outside the archive");
        }
        decision.entry.type = ArchiveEntry::Type::hardlink;
        decision.entry.link_target = *target;
    } else if (auto refusal = classify_by_kind(raw, decision.entry)) {
        return EntryDecision::refuse(std::move(*refusal));
    }
    const std::string& name = decision.entry.name;
    if (name.empty()) {
        if (decision.entry.type == ArchiveEntry::Type::directory) {
            decision.verdict = EntryDecision::Verdict::skip;  // "./": the root itself
            return decision;
        }
        return EntryDecision::refuse("has an empty name");
    }
    if (seen.find(name) != seen.end()) {
        return EntryDecision::refuse("appears twice (as " + quote(name) +
                                     "), so which one is meant is ambiguous");
    }
    return decision;
}

std::optional<EntryRefusal> check_hardlink_targets(
    const std::vector<ArchiveEntry>& entries,
    const std::map<std::string, std::size_t, std::less<>>& by_name) {
    for (const auto& item : entries) {
        if (item.type == ArchiveEntry::Type::hardlink &&
            by_name.find(item.link_target) == by_name.end()) {
            return EntryRefusal{item.name, "is a hardlink to " + quote(item.link_target) +
                                               ", which is not in the archive"};
        }
    }
    return std::nullopt;
}

}  // namespace assetctl::image
